import ArgumentParser

@main
struct OffpeakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offpeak",
        abstract: "A gateway that turns deferrable LLM calls into half-price provider batches.",
        subcommands: [ServeCommand.self, SimulateCommand.self, DemoCommand.self, MigrateCommand.self, PoliciesCommand.self, WebhookSecretCommand.self]
    )
}
