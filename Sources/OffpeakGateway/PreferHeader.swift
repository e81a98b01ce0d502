/// The `Prefer` request header (RFC 7240): `respond-async` and `wait=N`, among any others.
import Foundation

struct PreferHeader: Equatable {
    var respondAsync = false
    var wait: Double?

    /// Reads every `Prefer` field value given (a header may repeat).
    init(_ values: [String]) {
        for value in values {
            for preference in value.split(separator: ",") {
                // A preference is `token[=value]` followed by `;parameters`, which we ignore.
                let head = preference.split(separator: ";", maxSplits: 1).first ?? ""
                let pair = head.split(separator: "=", maxSplits: 1)
                let name = (pair.first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
                var argument = pair.count > 1 ? pair[1].trimmingCharacters(in: .whitespaces) : ""
                if argument.hasPrefix("\""), argument.hasSuffix("\""), argument.count >= 2 {
                    argument = String(argument.dropFirst().dropLast())
                }
                switch name {
                case "respond-async": respondAsync = true
                case "wait": if let seconds = Double(argument), seconds >= 0, seconds.isFinite { wait = seconds }
                default: continue
                }
            }
        }
    }
}
