import ArgumentParser
import Configuration
import Foundation
import Logging

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the store's schema up to date, then exit.",
        discussion: """
            `serve` does the same at start, and several gateways starting at once apply each migration once; \
            run this from a deploy step to migrate before the gateways start.
            """
    )

    @Option(help: "SQLite file path or postgres:// URL (OFFPEAK_DATABASE, default offpeak.sqlite).") var database: String?
    @Option(help: "trace, debug, info, notice, warning, error (OFFPEAK_LOG_LEVEL).") var logLevel: String?

    func run() async throws {
        _ = LogSetup.bootstrap(level: logLevel)
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let database { values["database"] = ConfigValue(.string(database), isSecret: false) }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider().prefixKeys(with: "offpeak"),
        ])
        try await StoreOpening.with(reader.string(forKey: "database", default: "offpeak.sqlite"), logger: Logger(label: "offpeak")) { _ in }
        print("offpeak: the store's schema is up to date")
    }
}
