@testable import OffpeakSQLite
import Synchronization
import Testing

@Suite struct GroupCommitTests {
    struct Refused: Error {}

    @Test func concurrentSubmissionsShareWritesAndEachGetsItsOwnResult() async throws {
        let writes = Mutex<[Int]>([])
        let commit = GroupCommit<Int, Int>(maxBatch: 64) { items in
            writes.withLock { $0.append(items.count) }
            try? await Task.sleep(for: .milliseconds(2))  // a write takes time, as an fsync does
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
        #expect(sizes.allSatisfy { $0 <= 65 }, "a group never exceeds its bound (the leader and 64 waiters)")
    }

    @Test func aLoneSubmissionIsWrittenAtOnce() async throws {
        let commit = GroupCommit<String, String> { items in items.map { .success($0.uppercased()) } }
        #expect(try await commit.submit("a") == "A")
        #expect(try await commit.submit("b") == "B")
    }
}
