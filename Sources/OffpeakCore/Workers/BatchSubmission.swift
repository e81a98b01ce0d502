/// The submission of one batch to the provider, as a state machine apart from I/O: it says what to
/// do next from where the batch stands and what the last step came to; the flusher does it and
/// reports back. `preparing → uploaded → created (live)`, with the look-up upstream of a batch
/// that may have been created before a crash, and the failures:
/// - before the file is recorded as uploaded, the batch is abandoned (its requests go back to the
///   queue: nothing upstream can hold them);
/// - after it, a create may have reached the provider, so the batch is kept and set aside, and
///   looked for upstream before it is created again: a request is never in two live batches;
/// - a lease lost means another instance has the batch: stop; stopping gives the batch up at once.
public struct BatchSubmission: Sendable {
    public enum Action: Sendable, Equatable {
        /// Find the batch upstream by its `offpeak_batch_id` metadata.
        case lookUpstream(fileID: String)
        case upload
        case recordUpload(fileID: String)
        /// Renew the lease; creating a batch another instance now holds could place requests twice.
        case renewLease
        case create(fileID: String)
        case markLive(UpstreamBatch)
        /// Return the requests to the queue (attempts refunded).
        case abandon
        /// Keep the batch; any instance takes it up after `retryIn` seconds.
        case setAside(retryIn: Double)
        /// Stopping: give the batch up now, for whoever starts next.
        case release
        case finish(Outcome)
    }

    public enum Outcome: Sendable, Equatable {
        case live
        /// The file never reached the provider; the group should wait before it is claimed again.
        case abandoned
        case setAside
        case released
        /// Another instance holds the batch now.
        case lost
    }

    /// Why a step did not succeed.
    public enum Failure: Sendable, Equatable {
        case error
        case cancelled
        case leaseLost
    }

    enum State: Sendable, Equatable {
        case idle
        case lookingUp(fileID: String)
        case uploading
        case recordingUpload(fileID: String)
        case confirmingLease(fileID: String)
        case creating(fileID: String)
        case markingLive
        case abandoning
        case settingAside
        case releasing
        case finished(Outcome)
    }

    private(set) var state: State = .idle
    /// Seconds before a kept batch is tried again.
    public let retryDelay: Double

    public init(retryDelay: Double) {
        self.retryDelay = retryDelay
    }

    /// The first step for a batch whose file may already be uploaded (`inputFileID`), after a
    /// crash or a failed create (`recovering`).
    public mutating func start(inputFileID: String?, recovering: Bool) -> Action {
        switch (inputFileID, recovering) {
        case (let fileID?, true):
            state = .lookingUp(fileID: fileID)
            return .lookUpstream(fileID: fileID)
        case (let fileID?, false):
            state = .confirmingLease(fileID: fileID)
            return .renewLease
        case (nil, _):
            state = .uploading
            return .upload
        }
    }

    public mutating func lookedUp(_ found: UpstreamBatch?) -> Action {
        guard case .lookingUp(let fileID) = state else { return unexpected() }
        if let found {
            state = .markingLive
            return .markLive(found)
        }
        state = .confirmingLease(fileID: fileID)
        return .renewLease
    }

    public mutating func uploaded(fileID: String) -> Action {
        guard case .uploading = state else { return unexpected() }
        state = .recordingUpload(fileID: fileID)
        return .recordUpload(fileID: fileID)
    }

    public mutating func uploadRecorded() -> Action {
        guard case .recordingUpload(let fileID) = state else { return unexpected() }
        state = .confirmingLease(fileID: fileID)
        return .renewLease
    }

    public mutating func leaseRenewed(stillHeld: Bool) -> Action {
        guard case .confirmingLease(let fileID) = state else { return unexpected() }
        guard stillHeld else { return finish(.lost) }
        state = .creating(fileID: fileID)
        return .create(fileID: fileID)
    }

    public mutating func created(_ upstream: UpstreamBatch) -> Action {
        guard case .creating = state else { return unexpected() }
        state = .markingLive
        return .markLive(upstream)
    }

    public mutating func markedLive() -> Action {
        guard case .markingLive = state else { return unexpected() }
        return finish(.live)
    }

    /// The last action (abandon, set aside, release) is done.
    public mutating func settled() -> Action {
        switch state {
        case .abandoning: finish(.abandoned)
        case .settingAside: finish(.setAside)
        case .releasing: finish(.released)
        default: unexpected()
        }
    }

    /// The last action failed.
    public mutating func failed(_ failure: Failure) -> Action {
        switch (failure, state) {
        case (_, .finished), (_, .idle):
            return unexpected()
        case (.leaseLost, _):
            return finish(.lost)
        case (.cancelled, .releasing), (.cancelled, .abandoning), (.cancelled, .settingAside):
            // Stopping while giving the batch back: its lease runs out and another instance takes it.
            return finish(.released)
        case (.cancelled, _):
            state = .releasing
            return .release
        case (.error, .uploading), (.error, .recordingUpload):
            state = .abandoning
            return .abandon
        case (.error, .abandoning):
            // The store did not take it: the lease runs out and the batch is taken up again; the
            // group waits all the same.
            return finish(.abandoned)
        case (.error, .settingAside), (.error, .releasing):
            // The store did not take it: the lease runs out and the batch is taken up again.
            return finish(.setAside)
        case (.error, .lookingUp), (.error, .confirmingLease), (.error, .creating), (.error, .markingLive):
            state = .settingAside
            return .setAside(retryIn: retryDelay)
        }
    }

    private mutating func finish(_ outcome: Outcome) -> Action {
        state = .finished(outcome)
        return .finish(outcome)
    }

    /// An event the state does not expect is a bug in the caller; ending the submission keeps the
    /// batch safe (its lease runs out and it is taken up again).
    private mutating func unexpected() -> Action {
        assertionFailure("unexpected event in state \(state)")
        return finish(.setAside)
    }
}
