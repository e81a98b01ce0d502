import Foundation
import OffpeakCore
import Testing

/// The usage ledger on every store: each ended call recorded once, in the transaction that ends
/// it, and reports that agree with a direct sum over the records for any period, split and group.
@Suite struct UsageLedgerConformanceTests {
    static let prices = PriceTable(models: [("qwen-*", ModelPrice(input: 1, output: 2, cachedInput: Decimal(string: "0.25")!))])
    static let everything = UsageQuery(from: 0, to: 1_000_000)

    static func totals(_ store: any DeferredStore, _ query: UsageQuery = everything) async throws -> UsageTally {
        UsageReport(query: query, currency: "USD", tallies: try await store.usageTallies(query)).totals
    }

    @Test(arguments: StoreKind.available)
    func settlingRecordsEachEndOnceAndRequeuesNothing(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            for index in 0..<4 { _ = try await store.accept(StoreConformanceTests.new("dfr_\(index)")) }
            _ = try await store.claimBatch(
                id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(), now: 2000, lease: StoreConformanceTests.lease)
            let members = try await store.pendingMembers(batchID: "bat_1")
            let body = #"{"usage":{"prompt_tokens":1000,"completion_tokens":500,"prompt_tokens_details":{"cached_tokens":400},"completion_tokens_details":{"reasoning_tokens":100}}}"#
            let answer = StoredResponse(statusCode: 200, requestID: "r", body: Array(body.utf8))
            let usage = OutputLine.usage(in: answer.body)
            func settlement(_ disposition: RowDisposition, _ id: String) -> (id: String, settlement: Settlement) {
                (id, Settlement(disposition, member: members[id]!, model: "qwen-plus", prices: Self.prices))
            }
            let settlements = [
                settlement(.complete(answer, usage), "dfr_0"),
                settlement(.fail(DeferredError(code: "invalid_request", message: "bad"), answer), "dfr_1"),
                settlement(.requeue(DeferredError(code: "rate_limit", message: "429"), refund: true), "dfr_2"),
                settlement(.complete(answer, usage), "dfr_3"),
            ]
            #expect(try await store.settle(batchID: "bat_1", settlements, now: 3000.7) == ["dfr_0", "dfr_1", "dfr_3"])
            #expect(try await store.settle(batchID: "bat_1", settlements, now: 3500).isEmpty, "a file applied again")
            let totals = try await Self.totals(store)
            #expect(totals.requests == 3 && totals.completed == 2 && totals.unpriced == 0)
            #expect(totals.promptTokens == 2000 && totals.completionTokens == 1000)
            #expect(totals.cachedTokens == 800 && totals.reasoningTokens == 200)
            // Each: (600 × 1 + 400 × 0.25 + 500 × 2) / 10⁶ = 0.0017 at list price, half of it billed.
            #expect(totals.atListPrice == Decimal(string: "0.0034")! && totals.billed == Decimal(string: "0.0017")!)
            let byLane = try await store.usageTallies(UsageQuery(from: 3000, to: 3001, groupBy: [.lane, .model]))
            #expect(byLane.map(\.group) == [UsageGroup(model: "qwen-plus", lane: "batch")], "counted by the second it ended")
            #expect(try await Self.totals(store, UsageQuery(from: 3001, to: 4000)).requests == 0)
        }
    }

    @Test(arguments: StoreKind.available)
    func aRealTimeAnswerIsACallOnTheLedgerWhateverTheRequestTakes(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            _ = try await store.accept(StoreConformanceTests.new("dfr_b"))
            _ = try await store.claimBatch(
                id: "bat_1", group: StoreConformanceTests.group, policy: FlushPolicy(), now: 2000, lease: StoreConformanceTests.lease)
            _ = try await store.accept(StoreConformanceTests.new("dfr_w", owner: "p"))
            let answer = StoredResponse(
                statusCode: 200, requestID: "r", body: Array(#"{"usage":{"prompt_tokens":3,"completion_tokens":4}}"#.utf8))
            let realtime = RequestFinish.realtime(answer, reason: "deadline", hasCallback: false, model: "qwen-plus", prices: Self.prices)

            // Withdrawn and answered from real time: one record, in the real-time lane, at the list price.
            #expect(try await store.withdraw(id: "dfr_w", now: 2100, reason: "deadline"))
            #expect(try await store.recordRealtimeAnswer(id: "dfr_w", .result(realtime), now: 2100))
            #expect(try await store.recordRealtimeAnswer(id: "dfr_w", .result(realtime), now: 2200) == false)
            // Answered from real time while in a batch: that call is billed now, the batch's row later.
            #expect(try await store.recordRealtimeAnswer(id: "dfr_b", .noted(realtime), now: 2100))
            #expect(try await store.recordRealtimeAnswer(id: "dfr_b", .noted(realtime), now: 2200), "noted again, recorded once")
            let member = try #require(try await store.pendingMembers(batchID: "bat_1")["dfr_b"])
            let usage = TokenUsage(promptTokens: 10, completionTokens: 20)
            let settled = Settlement(.complete(answer, usage), member: member, model: "qwen-plus", prices: Self.prices)
            #expect(try await store.settle(batchID: "bat_1", [("dfr_b", settled)], now: 2300) == ["dfr_b"])

            let lanes = try await store.usageTallies(UsageQuery(from: 0, to: 10_000, groupBy: [.lane]))
            let report = UsageReport(query: UsageQuery(from: 0, to: 10_000, groupBy: [.lane]), currency: "USD", tallies: lanes)
            #expect(report.rows.map(\.group.lane) == ["batch", "realtime"])
            #expect(report.rows.map(\.requests) == [1, 2])
            // Real time: 2 × (3 × 1 + 4 × 2) / 10⁶ at list price; batch: (10 + 40) / 10⁶ × 0.5.
            #expect(report.rows[1].billed == Decimal(string: "0.000022")! && report.rows[1].atListPrice == report.rows[1].billed)
            #expect(report.rows[0].billed == Decimal(string: "0.000025")! && report.rows[0].atListPrice == Decimal(string: "0.00005")!)
            #expect(try await Self.totals(store, UsageQuery(from: 0, to: 10_000, owner: "p")).requests == 1, "one key's own")
        }
    }

    @Test(arguments: StoreKind.available)
    func reportsAgreeWithTheRecordsForAnyPeriodSplitAndGroup(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { stores in
            let store = stores[0]
            var random = SeededRandom(seed: 11)
            let start: Int64 = 1_764_460_000
            var records: [UsageRecord] = []
            for index in 0..<600 {
                // Three days, with calls on the very edges of hours and days.
                let offset = index % 7 == 0 ? Int64(random.next(below: 72)) * 3_600 - Int64(index % 2) : Int64(random.next(below: 259_200))
                let model = ["qwen-plus", "qwen-max", "mystery"][random.next(below: 3)]
                let lane = Lane.allCases[random.next(below: 3)]
                let completed = random.next(below: 5) != 0
                let usage = index % 11 == 0 ? nil : TokenUsage(
                    promptTokens: random.next(below: 5_000), completionTokens: random.next(below: 3_000),
                    cachedTokens: random.next(below: 100), reasoningTokens: random.next(below: 50))
                let prices = index % 13 == 0 ? PriceTable(currency: "EUR", models: Self.prices.models) : Self.prices
                records.append(
                    UsageRecord(
                        requestID: "call_\(index)", lane: lane, owner: ["a", "b"][index % 2], model: model, endpoint: "/v1/chat/completions",
                        endedAt: start + offset, completed: completed, usage: usage,
                        cost: Cost(usage: usage, model: model, lane: lane, completed: completed, prices: prices)))
            }
            try await store.record(Array(records[..<300]))
            try await store.record(Array(records[250...]))
            try await store.record([records[0]])

            func report(_ query: UsageQuery, from tallies: [UsageTally]) -> UsageReport {
                UsageReport(query: query, currency: "USD", tallies: tallies)
            }
            for round in 0..<12 {
                let from = start - 1_000 + Int64(random.next(below: 200_000))
                let to = from + Int64(random.next(below: 200_000))
                let groupings: [[UsageDimension]] = [[], [.model], [.day, .lane], [.key, .upstream, .model, .lane, .day]]
                let groupBy = groupings[round % groupings.count]
                let owner: String? = round % 3 == 0 ? "a" : nil
                let query = UsageQuery(from: from, to: to, groupBy: groupBy, owner: owner)
                let stored = report(query, from: try await store.usageTallies(query))
                let expected = report(query, from: UsageTally.tallies(of: records, for: query))
                #expect(stored == expected, "round \(round): \(from)..<\(to) by \(groupBy)")
                // Any split adds up to the whole, to the pico-unit.
                let cut = from + Int64(random.next(below: Int(to - from) + 1))
                let left = try await Self.totals(store, UsageQuery(from: from, to: cut, owner: owner))
                let right = try await Self.totals(store, UsageQuery(from: cut, to: to, owner: owner))
                #expect(left.requests + right.requests == stored.totals.requests)
                #expect(left.billed + right.billed == stored.totals.billed && left.atListPrice + right.atListPrice == stored.totals.atListPrice)
                #expect(left.promptTokens + right.promptTokens == stored.totals.promptTokens)
                #expect(left.unpriced + right.unpriced == stored.totals.unpriced)
            }
            let all = try await Self.totals(store, UsageQuery(from: 0, to: start * 2))
            #expect(all.requests == 600, "records given twice are kept once")
            #expect(all.unpriced == records.filter { $0.model == "mystery" || $0.cost?.currency == "EUR" }.count)
        }
    }
}

/// A small deterministic generator, so that a failing round can be replayed.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }
}
