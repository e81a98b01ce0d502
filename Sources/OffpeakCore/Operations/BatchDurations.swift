import Metrics

/// How long batches take at the two ends of their life, as histograms (an operator's view of what
/// the benchmarks' flush and split stages measure): from the claim of a batch's requests to the
/// batch live upstream (its file uploaded and the batch created; a batch resumed after a restart
/// counts the time in between), and from seeing a batch ended upstream to every request it held
/// settled (its output and error files downloaded, split and stored).
public enum BatchDurations {
    public static let submitLabel = "offpeak_batch_submit_duration_seconds"
    public static let collectLabel = "offpeak_batch_collect_duration_seconds"

    static func submitted(seconds: Double) {
        Timer(label: submitLabel, preferredDisplayUnit: .seconds).recordSeconds(max(0, seconds))
    }

    static func collected(seconds: Double) {
        Timer(label: collectLabel, preferredDisplayUnit: .seconds).recordSeconds(max(0, seconds))
    }
}
