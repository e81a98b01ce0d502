import ArgumentParser
import Foundation
import OffpeakCore
import OffpeakGateway

struct PoliciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policies",
        abstract: "Check a deferral policy file and print its rules as parsed, in the order they are tried.",
        discussion: "Exits 2 with the rule at fault named when the file is invalid; `serve --config` refuses such a file too."
    )

    @Option(help: "The policy file, YAML or JSON (OFFPEAK_CONFIG).") var config: String?

    func run() throws {
        guard let path = config ?? ProcessInfo.processInfo.environment["OFFPEAK_CONFIG"], !path.isEmpty else {
            FileHandle.standardError.write(Data("offpeak: give the policy file with --config FILE (or OFFPEAK_CONFIG)\n".utf8))
            throw ExitCode(2)
        }
        do {
            let policies = try PolicyFile.load(path: path)
            print("\(policies.rules.count) rule(s) in \(path), first match wins; calls no rule matches pass through:")
            for line in PolicyFile.describe(policies) { print("  " + line) }
            if let prices = try PriceFile.load(path: path) {
                print("\(prices.models.count) model price(s) in \(prices.currency) per million tokens, batch × \(prices.batchMultiplier):")
                for (glob, price) in prices.models {
                    print("  \(glob): input \(price.input), output \(price.output)" + (price.cachedInput.map { ", cached input \($0)" } ?? ""))
                }
            }
            if let upstreams = try UpstreamFile.load(path: path) {
                print("\(upstreams.count) upstream(s), a model going to the first whose globs match it:")
                for (index, upstream) in upstreams.enumerated() { print("  \(index + 1). \(upstream)") }
            }
        } catch {
            FileHandle.standardError.write(Data("offpeak: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
