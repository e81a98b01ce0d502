import Foundation

/// Faults a test asks for from inside a request, so that one batch can mix every outcome.
///
/// A marker is written anywhere in a message's text: `[sim:status=500]` makes that request answer
/// 500; `[sim:status=429,times=1]` only on its first execution (a later batch succeeds);
/// `[sim:omit]` leaves the row out of both files; `[sim:batch=expire]` expires the whole batch
/// holding it (finished rows kept, the rest `batch_expired`); `[sim:batch=invalid]` fails the
/// batch's validation, naming that line.
struct FaultMarker: Equatable {
    enum Action: Equatable {
        case status(Int)
        case omit
        case expireBatch
        case invalidateBatch
    }

    var action: Action
    /// How many executions it applies to; nil means every time.
    var times: Int?

    static func parse(_ text: String) -> [FaultMarker] {
        var markers: [FaultMarker] = []
        var rest = Substring(text)
        while let start = rest.range(of: "[sim:") {
            guard let end = rest[start.upperBound...].firstIndex(of: "]") else { break }
            let body = rest[start.upperBound..<end]
            rest = rest[rest.index(after: end)...]
            var action: Action?
            var times: Int?
            for part in body.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                switch (pair.first, pair.count > 1 ? pair[1] : nil) {
                case ("status", let value?): action = Int(value).map(Action.status)
                case ("omit", nil): action = .omit
                case ("batch", "expire"): action = .expireBatch
                case ("batch", "invalid"): action = .invalidateBatch
                case ("times", let value?): times = Int(value)
                default: break
                }
            }
            if let action { markers.append(FaultMarker(action: action, times: times)) }
        }
        return markers
    }
}
