/// When the flusher looks at the queue next. Each look sums every group's backlog, so looks are
/// spaced by what the last one cost (`QueueWatch`): a ring (an accept) or the idle check waits for
/// that spacing. A due time (a group's age) is kept to, whatever the spacing.
struct FlushPacing {
    var idleCheck: Double
    var minimumSpacing: Double
    var lookCost: Double

    /// The least time between two looks.
    var spacing: Double { QueueWatch.spacing(after: lookCost, atLeast: minimumSpacing) }

    /// Seconds until the next look, unless rung after `spacing`: the idle check (no sooner than
    /// the spacing), sooner when a group comes due in `untilDue`, later after a failed pass.
    func wait(untilDue: Double?, failedDelay: Double?) -> Double {
        var wait = max(idleCheck, spacing)
        if let untilDue { wait = min(wait, max(0.01, untilDue)) }
        if let failedDelay { wait = max(wait, failedDelay) }
        return wait
    }
}
