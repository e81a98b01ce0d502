import Foundation
import OffpeakCore

/// How the console writes times, durations, sizes, shares and money: short, and the same on every page.
enum ConsoleFormat {
    /// `2026-11-30 16:04:12` (UTC, as the page footer says).
    static func time(_ timestamp: Timestamp?) -> String {
        guard let timestamp else { return "–" }
        let parts = Calendar(identifier: .gregorian).dateComponents(
            in: TimeZone(identifier: "UTC")!, from: Date(timeIntervalSince1970: timestamp))
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
            parts.minute ?? 0, parts.second ?? 0)
    }

    /// `850 ms`, `42 s`, `7 min 5 s`, `3 h 12 min`, `4 d 2 h`.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "–" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        let whole = Int(seconds.rounded())
        switch whole {
        case ..<60: return "\(whole) s"
        case ..<3600: return "\(whole / 60) min" + (whole % 60 == 0 ? "" : " \(whole % 60) s")
        case ..<86_400: return "\(whole / 3600) h" + (whole % 3600 / 60 == 0 ? "" : " \(whole % 3600 / 60) min")
        default: return "\(whole / 86_400) d" + (whole % 86_400 / 3600 == 0 ? "" : " \(whole % 86_400 / 3600) h")
        }
    }

    /// `512 B`, `1.5 KiB`, `12.0 MiB`.
    static func bytes(_ count: Int) -> String {
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        for unit in ["KiB", "MiB", "GiB"] {
            if value < 1024 || unit == "GiB" { return String(format: "%.1f %@", value, unit) }
            value /= 1024
        }
        return "\(count) B"
    }

    /// `12.5%`.
    static func percent(_ fraction: Double) -> String {
        String(format: "%.1f%%", fraction * 100)
    }

    /// `USD 12.34`, with up to six decimals for amounts under one unit (batch prices are small).
    static func money(_ amount: Decimal, currency: String) -> String {
        let value = (amount as NSDecimalNumber).doubleValue
        let digits = abs(value) >= 1 || value == 0 ? 2 : 6
        var text = String(format: "%.\(digits)f", value)
        if digits > 2 {
            while text.hasSuffix("0"), !text.hasSuffix(".00") { text.removeLast() }
        }
        return "\(currency) \(text)"
    }

    /// `https://hooks.example.com/offpeak`: a callback URL without its query, which may hold a token.
    static func callback(_ url: String?) -> String {
        guard let url else { return "–" }
        guard var parts = URLComponents(string: url) else { return "(unreadable URL)" }
        parts.query = nil
        parts.fragment = nil
        parts.user = nil
        parts.password = nil
        return parts.string ?? "(unreadable URL)"
    }
}
