import Foundation
import OffpeakTestSupport
import Testing

/// The operator's console in a real browser (headless Chromium from Debian's packages, driven by
/// Selenium with Debian's chromium-driver; `.ci/run` installs both): sign in, watch a running
/// batch's progress advance in place, search, cancel a batch and see it end, look a request up,
/// on a laptop's window and a phone's, with no error in the browser's log. Screenshots of every
/// page are left under `.build/console-screenshots/`.
@Suite struct ConsoleBrowserTests {
    static let browserInstalled = ["/usr/bin/chromium", "/usr/bin/chromedriver"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    /// Off CI a machine without a browser skips this test (reported as skipped); on CI it must run.
    static let runs = browserInstalled || ProcessInfo.processInfo.environment["CI"] != nil
    static let admin = [("Authorization", "Bearer sk-admin")]

    @Test(.enabled(if: runs, "needs chromium and chromium-driver (apt-get install chromium chromium-driver, as .ci/run does)"))
    func anOperatorSignsInWatchesCancelsAndLooksUp() async throws {
        #expect(Self.browserInstalled, "CI must install chromium and chromium-driver")
        let cluster = try await Cluster(
            name: "console", batchDelay: 120,
            gateway: ["OFFPEAK_ADMIN_KEYS": "sk-admin", "OFFPEAK_FLUSH_MAX_REQUESTS": "10", "OFFPEAK_FLUSH_MAX_AGE": "3600"])
        _ = try await cluster.sendMany(count: 10, models: ["qwen-plus"])
        let doomedIDs = try await cluster.sendMany(count: 10, models: ["qwen-max"])
        var running: [String: String] = [:]
        try await eventually("both batches upstream", within: 30) {
            let batches = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches?status=in_progress", headers: Self.admin)
                .json?["data"] as? [[String: Any]] ?? []
            for batch in batches { running[batch["model"] as? String ?? ""] = batch["id"] as? String }
            return running.count == 2
        }
        let watched = try #require(running["qwen-plus"])
        let doomed = try #require(running["qwen-max"])
        // The request on the batch's last line: the provider will not have run it when the cancel comes
        // (the simulator runs a batch's lines over 80% of its delay, the last one 108 s after the batch
        // starts here; with a 60 s delay, a loaded CI machine once brought the cancel after 54 s).
        var lastLine = (id: "", line: -1)
        for id in doomedIDs {
            let trace = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/requests/\(id)", headers: Self.admin).json?["trace"]
            let line = (trace as? [[String: Any]])?.first?["line"] as? Int ?? -1
            if line > lastLine.line { lastLine = (id, line) }
        }

        let shots = PythonEnvironment.packageRoot.appendingPathComponent(".build/console-screenshots").path
        try? FileManager.default.removeItem(atPath: shots)
        let seen = try await PythonEnvironment.shared.runScript(
            "console_browser.py", [cluster.gateway.url, "sk-admin", shots, watched, doomed, lastLine.id])

        #expect(seen["browser_errors"] as? [String] == [], "the browser's log holds no error")
        let cookie = seen["cookie"] as? [String: Any]
        #expect(cookie?["httpOnly"] as? Bool == true && cookie?["sameSite"] as? String == "Strict" && cookie?["path"] as? String == "/console")
        let progress = seen["progress"] as? [Int] ?? []
        #expect(progress.count >= 2 && progress.last! > progress.first!, "progress advanced in place: \(progress)")
        #expect((seen["layout_shift"] as? Double ?? 1) < 0.01, "refreshing moved nothing (cumulative layout shift)")
        #expect(seen["savings_cards"] as? Int == 2)
        #expect(seen["first_tab_stop"] as? String == "Skip to content")
        #expect(seen["search_rows"] as? [String] == ["row-\(watched)"])
        #expect((seen["cancel_notice"] as? String ?? "").hasPrefix("Cancelling \(doomed) upstream"))
        #expect(seen["cancel_status"] as? String == "cancelled")
        let trace = seen["trace"] as? [[String]] ?? []
        #expect(trace.first?[1] == doomed && trace.first?[4] == "requeued", "the request left the cancelled batch for the queue: \(trace)")
        #expect(seen["deliveries_title"] as? String == "Callback deliveries")
        let overflow = seen["phone_overflow"] as? [String: Int] ?? [:]
        #expect(seen["phone_width"] as? Int == 390 && overflow.count == 4 && overflow.values.allSatisfy { $0 <= 0 }, "no page is wider than a phone: \(overflow)")
        let files = (seen["screenshots"] as? [String] ?? []).filter { FileManager.default.fileExists(atPath: $0) }
        #expect(files.count == 8, "a screenshot of each page: \(files)")

        let objects = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/batches/\(doomed)", headers: Self.admin).json
        #expect(objects?["status"] as? String == "cancelled", "the console's cancel is the operator API's")
    }
}
