import OffpeakCore
import Testing

@Suite struct IdentifierTests {
    static let alphabet = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    @Test func orderedIdentifiersSortByTheMillisecondTheyWereMadeIn() {
        // Across digit carries (61 → 62, 3843 → 3844) and over decades.
        let times: [UInt64] = [0, 61, 62, 3843, 3844, 1_764_561_600_000, 1_764_561_600_001, 4_102_444_800_000]
        let ids = times.map { Identifier.ordered(prefix: "dfr_", milliseconds: $0) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.hasPrefix("dfr_") && id.count == "dfr_".count + 24)
            #expect(id.dropFirst(4).allSatisfy(Self.alphabet.contains))
        }
        #expect(ids[0].dropFirst(4).prefix(8) == "00000000")
        #expect(ids[2].dropFirst(4).prefix(8) == "00000010")
    }

    @Test func identifiersMadeInTheSameMillisecondDifferInTheirRandomPart() {
        let ids = (0..<1000).map { _ in Identifier.ordered(prefix: "call_", milliseconds: 1_764_561_600_000) }
        #expect(Set(ids).count == ids.count)
        #expect(Set(ids.map { $0.prefix("call_".count + 8) }).count == 1)
    }

    @Test func theTypedIdentifiersAreOrderedByTime() {
        let before = Identifier.currentMilliseconds()
        let made = [Identifier.deferred(), Identifier.batch(), Identifier.call()]
        for id in made {
            let time = id.split(separator: "_")[1].prefix(8)
            #expect(time >= Identifier.ordered(prefix: "", milliseconds: before).prefix(8))
        }
    }
}
