import OffpeakCore
import Testing

/// Every path of a batch's submission, without I/O: each event gives the next action.
@Suite struct BatchSubmissionTests {
    static let upstream = UpstreamBatch(id: "batch_1", status: .validating)

    @Test func aNewBatchIsUploadedRecordedCheckedCreatedAndMarkedLive() {
        var machine = BatchSubmission(retryDelay: 10)
        #expect(machine.start(inputFileID: nil, recovering: false) == .upload)
        #expect(machine.uploaded(fileID: "file-1") == .recordUpload(fileID: "file-1"))
        #expect(machine.uploadRecorded() == .renewLease)
        #expect(machine.leaseRenewed(stillHeld: true) == .create(fileID: "file-1"))
        #expect(machine.created(Self.upstream) == .markLive(Self.upstream))
        #expect(machine.markedLive() == .finish(.live))
    }

    @Test func aFailureBeforeTheFileIsRecordedAbandonsTheBatch() {
        var upload = BatchSubmission(retryDelay: 10)
        _ = upload.start(inputFileID: nil, recovering: false)
        #expect(upload.failed(.error) == .abandon)
        #expect(upload.settled() == .finish(.abandoned))

        var record = BatchSubmission(retryDelay: 10)
        _ = record.start(inputFileID: nil, recovering: false)
        _ = record.uploaded(fileID: "file-1")
        #expect(record.failed(.error) == .abandon, "not recorded: no instance could look the file up later")
        #expect(record.failed(.error) == .finish(.abandoned), "the store refused it too: the lease runs out")
    }

    @Test func aFailureOnceTheFileIsUpKeepsTheBatchAndSetsItAside() {
        for failAt in 0..<3 {
            var machine = BatchSubmission(retryDelay: 10)
            _ = machine.start(inputFileID: nil, recovering: false)
            _ = machine.uploaded(fileID: "file-1")
            _ = machine.uploadRecorded()
            if failAt > 0 { _ = machine.leaseRenewed(stillHeld: true) }
            if failAt > 1 { _ = machine.created(Self.upstream) }
            #expect(machine.failed(.error) == .setAside(retryIn: 10), "a create may have reached the provider (step \(failAt))")
            #expect(machine.settled() == .finish(.setAside))
        }
    }

    @Test func aRecoveredBatchIsLookedForUpstreamBeforeItIsCreatedAgain() {
        var found = BatchSubmission(retryDelay: 10)
        #expect(found.start(inputFileID: "file-1", recovering: true) == .lookUpstream(fileID: "file-1"))
        #expect(found.lookedUp(Self.upstream) == .markLive(Self.upstream), "created before the crash: never twice")
        #expect(found.markedLive() == .finish(.live))

        var missing = BatchSubmission(retryDelay: 10)
        _ = missing.start(inputFileID: "file-1", recovering: true)
        #expect(missing.lookedUp(nil) == .renewLease)
        #expect(missing.leaseRenewed(stillHeld: true) == .create(fileID: "file-1"), "the file is not uploaded again")

        var lookUpFails = BatchSubmission(retryDelay: 10)
        _ = lookUpFails.start(inputFileID: "file-1", recovering: true)
        #expect(lookUpFails.failed(.error) == .setAside(retryIn: 10))

        var neverUploaded = BatchSubmission(retryDelay: 10)
        #expect(neverUploaded.start(inputFileID: nil, recovering: true) == .upload)
    }

    @Test func aLostLeaseStopsAndStoppingGivesTheBatchUp() {
        var lost = BatchSubmission(retryDelay: 10)
        _ = lost.start(inputFileID: "file-1", recovering: false)
        #expect(lost.leaseRenewed(stillHeld: false) == .finish(.lost), "another instance holds it: no create")

        var lostMidway = BatchSubmission(retryDelay: 10)
        _ = lostMidway.start(inputFileID: nil, recovering: false)
        #expect(lostMidway.failed(.leaseLost) == .finish(.lost))

        var stopping = BatchSubmission(retryDelay: 10)
        _ = stopping.start(inputFileID: "file-1", recovering: false)
        _ = stopping.leaseRenewed(stillHeld: true)
        #expect(stopping.failed(.cancelled) == .release)
        #expect(stopping.settled() == .finish(.released))

        var stoppingTwice = BatchSubmission(retryDelay: 10)
        _ = stoppingTwice.start(inputFileID: nil, recovering: false)
        _ = stoppingTwice.failed(.cancelled)
        #expect(stoppingTwice.failed(.cancelled) == .finish(.released), "its lease runs out and another instance takes it")
    }
}
