import ArgumentParser
import Configuration
import Foundation
import Logging
import OffpeakGateway

struct WebhookSecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook-secret",
        abstract: "Print the secret that signs callbacks (OFFPEAK_WEBHOOK_SECRET, or the one generated and stored).",
        discussion: "Give it to your callback receivers; verify with any Standard Webhooks library."
    )

    @Option(help: "SQLite file path or postgres:// URL (OFFPEAK_DATABASE, default offpeak.sqlite).") var database: String?

    func run() async throws {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let database { values["database"] = ConfigValue(.string(database), isSecret: false) }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider().prefixKeys(with: "offpeak"),
        ])
        let configured = reader.string(forKey: "webhook.secret", isSecret: true)
        let secret = try await StoreOpening.with(
            reader.string(forKey: "database", default: "offpeak.sqlite"), logger: Logger(label: "offpeak")
        ) { store in
            try await WebhookSecrets.current(configured: configured, store: store)
        }
        print(secret)
    }
}
