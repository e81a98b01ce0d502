import Dispatch
import Foundation
@testable import OffpeakSQLite
import Synchronization
import Testing

@Suite struct GroupCommitTests {
    struct Refused: Error {}

    /// A serial queue stands in for the database's writer, as GRDB's is.
    static func onSerialQueue(_ label: String) -> GroupCommit<Void, Int, Int>.Schedule {
        let queue = DispatchQueue(label: label)
        return { drain in queue.async { drain(()) } }
    }

    @Test func concurrentSubmissionsShareWritesAndEachGetsItsOwnResult() async throws {
        let writes = Mutex<[Int]>([])
        let inside = Mutex(0)
        let commit = GroupCommit<Void, Int, Int>(maxBatch: 64, schedule: Self.onSerialQueue("writer")) { _, items in
            inside.withLock { $0 += 1 }
            defer { inside.withLock { $0 -= 1 } }
            #expect(inside.withLock { $0 } == 1, "one write at a time")
            writes.withLock { $0.append(items.count) }
            Thread.sleep(forTimeInterval: 0.002)  // a write takes time, as an fsync does
            return items.map { $0 % 7 == 0 ? .failure(Refused()) : .success($0 * 10) }
        }
        let results = await withTaskGroup(of: (Int, Int?).self) { group in
            for item in 1...500 {
                group.addTask { (item, try? await commit.submit(item)) }
            }
            var results: [Int: Int?] = [:]
            for await (item, result) in group { results[item] = result }
            return results
        }
        for item in 1...500 {
            #expect(results[item]! == (item % 7 == 0 ? nil : item * 10))
        }
        let sizes = writes.withLock { $0 }
        #expect(sizes.reduce(0, +) == 500, "every item written exactly once")
        #expect(sizes.count < 500, "waiting items were written together")
        #expect(sizes.allSatisfy { $0 <= 64 }, "a group never exceeds its bound")
    }

    @Test func aLoneSubmissionIsWrittenAtOnceAndTheDrainStops() async throws {
        let commit = GroupCommit<Void, String, String>(schedule: { drain in DispatchQueue.global().async { drain(()) } }) { _, items in
            items.map { .success($0.uppercased()) }
        }
        #expect(try await commit.submit("a") == "A")
        #expect(try await commit.submit("b") == "B")
    }
}
