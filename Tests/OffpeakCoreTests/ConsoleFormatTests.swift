import Foundation
@testable import OffpeakGateway
import Testing

/// How the console writes figures, and what it never shows of a callback URL.
@Suite struct ConsoleFormatTests {
    @Test func durationsSizesSharesAndMoney() {
        #expect(ConsoleFormat.duration(0.25) == "250 ms")
        #expect(ConsoleFormat.duration(42) == "42 s")
        #expect(ConsoleFormat.duration(425) == "7 min 5 s")
        #expect(ConsoleFormat.duration(3600 * 3 + 720) == "3 h 12 min")
        #expect(ConsoleFormat.duration(86_400 * 4 + 7200) == "4 d 2 h")
        #expect(ConsoleFormat.duration(nil) == "–")
        #expect(ConsoleFormat.bytes(512) == "512 B")
        #expect(ConsoleFormat.bytes(1536) == "1.5 KiB")
        #expect(ConsoleFormat.bytes(12 * 1_048_576) == "12.0 MiB")
        #expect(ConsoleFormat.percent(0.125) == "12.5%")
        #expect(ConsoleFormat.money(Decimal(string: "12.345")!, currency: "USD") == "USD 12.35")
        #expect(ConsoleFormat.money(Decimal(string: "0.000101")!, currency: "USD") == "USD 0.000101")
        #expect(ConsoleFormat.money(0, currency: "CNY") == "CNY 0.00")
        #expect(ConsoleFormat.time(1_796_054_405) == "2026-11-30 16:00:05")
    }

    @Test func aCallbackIsShownWithoutItsQueryOrCredentials() {
        #expect(ConsoleFormat.callback("https://user:pw@hooks.example.com/offpeak?token=s3cret#x") == "https://hooks.example.com/offpeak")
        #expect(ConsoleFormat.callback(nil) == "–")
    }
}
