import Foundation
import OffpeakCore

// What the templates render. Mustache reads stored properties only, so everything a template
// shows is worked out here, once, and the templates hold no logic but sections.

/// The frame of every page: title, navigation, who is signed in, the CSRF token, a notice.
struct ConsoleFrame {
    struct Link {
        let href: String
        let label: String
        let current: Bool
    }

    let title: String
    let nav: [Link]
    let hasNav: Bool
    let operatorLabel: String?
    let csrfToken: String
    let notice: ConsoleNotice?
    /// Seconds between refreshes of the page's live regions; nil for pages that stay as they are.
    let refreshSeconds: Int?

    static let sections = [("/console", "Overview"), ("/console/batches", "Batches"), ("/console/requests", "Requests"), ("/console/deliveries", "Deliveries")]

    init(title: String, section: String?, session: ConsoleSession?, signedIn: ConsoleOperator?, refresh: Bool = false) {
        self.title = title
        nav = signedIn == nil ? [] : Self.sections.map { Link(href: $0.0, label: $0.1, current: $0.0 == section) }
        hasNav = !nav.isEmpty
        operatorLabel = signedIn?.label
        csrfToken = session?.csrfToken ?? ""
        notice = session?.notice
        refreshSeconds = refresh ? 5 : nil
    }
}

/// A batch's progress: the provider's processed/total while it runs, then what was settled.
struct ProgressView {
    let done: Int
    let total: Int
    /// Nil when none failed (a section shows it only then).
    let failed: Int?
    let percent: Int
    let known: Bool

    init(_ batch: BatchRecord) {
        let counts = batch.counts
        total = counts?.total ?? batch.requestCount
        let failures = counts?.failed ?? 0
        failed = failures == 0 ? nil : failures
        done = (counts?.completed ?? 0) + failures
        known = counts != nil && total > 0
        percent = known ? min(100, done * 100 / total) : 0
    }
}

struct BatchRow {
    let id: String
    let upstream: String
    let name: String
    let model: String
    let endpoint: String
    let status: String
    let upstreamID: String
    let inputFileID: String
    let outputFileID: String
    let errorFileID: String
    let requests: Int
    let size: String
    let createdAt: String
    let submittedAt: String
    let endedAt: String
    let progress: ProgressView
    /// Live upstream and not being cancelled: the cancel action is offered.
    let cancellable: Bool
    /// An operator's cancel is on its way, and what it does with the rows not run.
    let cancelNote: String?

    init(_ batch: BatchRecord) {
        id = batch.id
        upstream = batch.upstream
        name = batch.name
        model = batch.model
        endpoint = batch.endpoint
        status = batch.status
        upstreamID = batch.upstreamID ?? "–"
        inputFileID = batch.inputFileID ?? "–"
        outputFileID = batch.outputFileID ?? "–"
        errorFileID = batch.errorFileID ?? "–"
        requests = batch.requestCount
        size = ConsoleFormat.bytes(batch.fileBytes)
        createdAt = ConsoleFormat.time(batch.createdAt)
        submittedAt = ConsoleFormat.time(batch.submittedAt)
        endedAt = ConsoleFormat.time(batch.endedAt)
        progress = ProgressView(batch)
        cancellable = batch.state == .live && batch.upstreamID != nil && batch.cancelled == nil
        cancelNote = batch.cancelled.map {
            $0.requeue ? "Cancelled by an operator: requests not run go back to the queue." : "Cancelled by an operator: requests not run are cancelled."
        }
    }
}

struct QueueRow {
    let model: String
    let endpoint: String
    let upstream: String
    let queued: Int
    let size: String
    let oldest: String
    let paused: Bool

    init(_ group: QueueGroup) {
        model = group.key.model
        endpoint = group.key.endpoint
        upstream = group.upstream
        queued = group.queued
        size = ConsoleFormat.bytes(group.bytes)
        oldest = ConsoleFormat.duration(group.oldestAgeSeconds)
        paused = group.paused
    }
}

struct ModelRow {
    let model: String
    let requests: Int
    let completed: Int
    let failed: Int
    let failureRate: String
    let highFailureRate: Bool
    let p50: String
    let p95: String
    let queuedNow: Int
    let inBatchesNow: Int

    init(_ stats: ModelStats) {
        model = stats.model
        requests = stats.requests
        completed = stats.completed
        failed = stats.failed
        failureRate = ConsoleFormat.percent(stats.failureRate)
        highFailureRate = stats.failureRate >= 0.05
        p50 = ConsoleFormat.duration(stats.p50Seconds)
        p95 = ConsoleFormat.duration(stats.p95Seconds)
        queuedNow = stats.queuedNow
        inBatchesNow = stats.inBatchesNow
    }
}

struct SavingsCard {
    let label: String
    let saved: String
    let billed: String
    let atListPrice: String
    let requests: Int
    /// Nil when every call was priced.
    let unpriced: Int?

    init(label: String, report: UsageReport) {
        self.label = label
        let totals = report.totals
        saved = ConsoleFormat.money(totals.atListPrice - totals.billed, currency: report.currency)
        billed = ConsoleFormat.money(totals.billed, currency: report.currency)
        atListPrice = ConsoleFormat.money(totals.atListPrice, currency: report.currency)
        requests = totals.requests
        unpriced = totals.unpriced == 0 ? nil : totals.unpriced
    }
}

struct RequestView {
    let id: String
    let status: String
    let model: String
    let endpoint: String
    let key: String
    let createdAt: String
    let endedAt: String
    let attempts: Int
    let servedBy: String
    let error: String?
    let callback: String?
    let delivery: String
    /// Ended with a callback: the redeliver action is offered.
    let redeliverable: Bool
    let trace: [AttemptRow]

    init(_ trace: RequestTrace) {
        let request = trace.request
        id = request.id
        status = request.status.rawValue
        model = request.model
        endpoint = request.endpoint
        key = request.owner.isEmpty ? "(no client keys)" : UsageReport.keyLabel(owner: request.owner)
        createdAt = ConsoleFormat.time(request.createdAt)
        endedAt = ConsoleFormat.time(request.completedAt)
        attempts = request.attempts
        servedBy = request.servedBy?.rawValue ?? "–"
        error = request.error.map { "\($0.code): \($0.message)" }
        callback = request.callbackURL.map(ConsoleFormat.callback)
        delivery = request.callbackURL == nil ? "–" : request.delivery.status.rawValue
        redeliverable = request.callbackURL != nil && request.status.isTerminal
        self.trace = trace.attempts.enumerated().map { AttemptRow(number: $0.offset + 1, $0.element) }
    }
}

struct AttemptRow {
    let number: Int
    let batchID: String
    let upstreamBatchID: String
    let line: String
    let outcome: String
    let reason: String
    let at: String

    init(number: Int, _ attempt: Attempt) {
        self.number = number
        batchID = attempt.batchID
        upstreamBatchID = attempt.upstreamBatchID ?? "–"
        line = attempt.line.map(String.init) ?? "–"
        outcome = attempt.outcome.rawValue
        reason = attempt.reason.map { "\($0.code): \($0.message)" } ?? ""
        at = ConsoleFormat.time(attempt.at)
    }
}

struct DeliveryRow {
    let id: String
    let callback: String
    let status: String
    let attempts: Int
    let lastAnswer: String
    let requestStatus: String
    let redeliverable: Bool

    init(_ request: DeferredRequest) {
        id = request.id
        callback = ConsoleFormat.callback(request.callbackURL)
        status = request.delivery.status.rawValue
        attempts = request.delivery.attempts
        lastAnswer = request.delivery.lastStatusCode.map { "HTTP \($0)" } ?? request.delivery.lastError ?? "–"
        requestStatus = request.status.rawValue
        redeliverable = request.status.isTerminal
    }
}

/// A choice of a filter's `<select>`.
struct Choice {
    let value: String
    let label: String
    let selected: Bool
}
