import OffpeakCore
import Synchronization
import Testing

@Suite struct GroupCommitTests {
    struct Refused: Error {}

    @Test(arguments: [1, 3])
    func concurrentSubmissionsShareWritesAndEachGetsItsOwnResult(writers: Int) async throws {
        let writes = Mutex<[Int]>([])
        let inFlight = Mutex((now: 0, most: 0))
        let commit = GroupCommit<Int, Int>(maxBatch: 64, writers: writers) { items in
            inFlight.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            writes.withLock { $0.append(items.count) }
            try? await Task.sleep(for: .milliseconds(2))  // a write takes time, as an fsync does
            inFlight.withLock { $0.now -= 1 }
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
        #expect(inFlight.withLock { $0.most } <= writers, "never more writes at once than allowed")
    }

    @Test func aLoneSubmissionIsWrittenAtOnce() async throws {
        let commit = GroupCommit<String, String> { items in items.map { .success($0.uppercased()) } }
        #expect(try await commit.submit("a") == "A")
        #expect(try await commit.submit("b") == "B")
    }
}
