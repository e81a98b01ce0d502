import Logging
import OffpeakCore

/// The signing secret(s): `OFFPEAK_WEBHOOK_SECRET` when set, otherwise one generated on first start
/// and kept in the store, so that every restart (and every gateway on a shared store) signs alike.
public enum WebhookSecrets {
    static let settingKey = "webhook_secret"

    public static func resolve(configured: String?, store: any SettingsStore, logger: Logger) async throws -> WebhookSigner {
        if let configured, !configured.isEmpty {
            return try WebhookSigner(secrets: configured)
        }
        let generated = WebhookSigner.generateSecret()
        let secret = try await store.setting(settingKey, default: generated)
        if secret == generated {
            // Never written to the log: the command prints it, for whoever may read the store.
            logger.notice("generated the webhook signing secret; `offpeak webhook-secret` prints it for your callback receivers")
        }
        return try WebhookSigner(secrets: secret)
    }

    /// The stored or configured secret, for `offpeak webhook-secret`.
    public static func current(configured: String?, store: any SettingsStore) async throws -> String {
        if let configured, !configured.isEmpty { return configured }
        return try await store.setting(settingKey, default: WebhookSigner.generateSecret())
    }
}
