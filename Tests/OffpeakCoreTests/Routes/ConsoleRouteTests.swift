import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OffpeakCore
import OffpeakGateway
import OffpeakTestSupport
import Testing

/// The console in process: sign-in with an operator key only, sessions in the store (read by
/// every gateway on it, dropped with their key), a CSRF token on every form, the loopback rule,
/// pages for what is not there, and the assets.
@Suite struct ConsoleRouteTests {
    typealias R = RouteTesting

    /// A browser: keeps the session cookie and the page's CSRF token.
    struct Browser {
        var cookie: String?

        mutating func send(
            _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, form: String? = nil, headers: HTTPFields = [:]
        ) async throws -> TestResponse {
            var headers = headers
            if let cookie { headers[.cookie] = "offpeak_console=\(cookie)" }
            if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
            let answer = try await client.execute(uri: path, method: method, headers: headers, body: form.map(R.body))
            if let set = answer.headers[.setCookie], let value = Self.cookieValue(set) { cookie = value.isEmpty ? nil : value }
            return answer
        }

        static func cookieValue(_ header: String) -> String? {
            guard header.hasPrefix("offpeak_console=") else { return nil }
            let value = header.dropFirst("offpeak_console=".count).prefix { $0 != ";" }
            return header.contains("Expires=") && header.contains("Max-Age=0") ? "" : String(value)
        }

        static func token(_ page: TestResponse) -> String {
            let html = String(buffer: page.body)
            guard let range = html.range(of: #"name="csrf-token" content=""#) else { return "" }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }

        static func text(_ page: TestResponse) -> String { String(buffer: page.body) }

        /// Signs in with `key`; the overview's token.
        mutating func signIn(_ client: some TestClientProtocol, key: String = "sk-admin") async throws -> String {
            let form = try await send(client, .get, "/console/sign-in")
            let answer = try await send(client, .post, "/console/sign-in", form: "key=\(key)&next=/console&csrf_token=\(Self.token(form))")
            #expect(answer.status == .seeOther && answer.headers[.location] == "/console")
            return Self.token(try await send(client, .get, "/console"))
        }
    }

    static let group = "model=qwen-plus&endpoint=%2Fv1%2Fchat%2Fcompletions"

    @Test func signInTakesAnOperatorKeyAndEveryFormItsToken() async throws {
        let store = MemoryStore()
        try await store.acceptChat(id: "dfr_1", content: "one", at: Date().timeIntervalSince1970)
        let configuration = try R.configuration(clientKeys: ["sk-client"], adminKeys: ["sk-admin"], host: "0.0.0.0")
        try await R.application(store: store, configuration: configuration).test(.router) { client in
            var browser = Browser()
            let first = try await browser.send(client, .get, "/console/batches?status=failed")
            #expect(first.status == .seeOther && first.headers[.location] == "/console/sign-in?next=/console/batches%3Fstatus%3Dfailed")
            let cookie = try #require(first.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"), "\(cookie)")

            let form = try await browser.send(client, .get, "/console/sign-in")
            let token = Browser.token(form)
            #expect(form.status == .ok && token.count == 64)
            let unsigned = try await browser.send(client, .post, "/console/sign-in", form: "key=sk-admin")
            #expect(unsigned.status == .forbidden && Browser.text(unsigned).contains("CSRF"))
            let forged = try await browser.send(client, .post, "/console/sign-in", form: "key=sk-admin&csrf_token=\(String(repeating: "0", count: 64))")
            #expect(forged.status == .forbidden)
            #expect(try await browser.send(client, .get, "/console").status == .seeOther, "still not signed in")
            let clientKey = try await browser.send(client, .post, "/console/sign-in", form: "key=sk-client&csrf_token=\(token)")
            #expect(clientKey.status == .forbidden && Browser.text(clientKey).contains("client key"))
            let wrong = try await browser.send(client, .post, "/console/sign-in", form: "key=sk-guess&csrf_token=\(token)")
            #expect(wrong.status == .unauthorized)

            let anonymous = browser.cookie
            let overviewToken = try await browser.signIn(client)
            #expect(browser.cookie != anonymous, "signing in starts a new session")
            let overview = try await browser.send(client, .get, "/console")
            let label = UsageReport.keyLabel(owner: GatewayContext.owner(ofKey: "sk-admin"))
            #expect(Browser.text(overview).contains("Signed in as <strong>\(label)</strong>") && !Browser.text(overview).contains("sk-admin"))
            #expect(overviewToken != token, "the new session has a token of its own")
            var planted = Browser(cookie: anonymous)
            #expect(try await planted.send(client, .get, "/console").status == .seeOther, "the session before sign-in is gone")

            let noToken = try await browser.send(client, .post, "/console/queues/pause", form: Self.group)
            #expect(noToken.status == .forbidden)
            #expect(try await store.pausedGroups().isEmpty, "a form without its token changes nothing")
            let oldToken = try await browser.send(client, .post, "/console/queues/pause", form: Self.group + "&csrf_token=\(token)")
            #expect(oldToken.status == .forbidden, "the token of the session before sign-in is worth nothing")
            let paused = try await browser.send(client, .post, "/console/queues/pause", form: Self.group + "&csrf_token=\(overviewToken)")
            #expect(paused.status == .seeOther && paused.headers[.location] == "/console")
            #expect(try await store.pausedGroups() == [GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus")])
            let notice = Browser.text(try await browser.send(client, .get, "/console"))
            #expect(notice.contains("Paused qwen-plus"), "the action's notice is shown once")
            #expect(!Browser.text(try await browser.send(client, .get, "/console")).contains("Paused qwen-plus"))
            let byHeader = try await browser.send(
                client, .post, "/console/queues/resume", form: Self.group, headers: [HTTPField.Name("X-CSRF-Token")!: overviewToken])
            #expect(byHeader.status == .seeOther, "the token may come as a header")
            #expect(try await store.pausedGroups().isEmpty)

            let signedIn = browser.cookie
            let out = try await browser.send(client, .post, "/console/sign-out", form: "csrf_token=\(overviewToken)")
            #expect(out.status == .seeOther && out.headers[.location] == "/console/sign-in?signed_out=1")
            var after = Browser(cookie: signedIn)
            #expect(try await after.send(client, .get, "/console").status == .seeOther, "the session is gone from the store")
        }
    }

    @Test func sessionsLiveInTheStoreAndEndWithTheirKey() async throws {
        let store = MemoryStore()
        let cookie = try await R.application(store: store, configuration: try R.configuration(adminKeys: ["sk-admin", "sk-other"])).test(.router) {
            client in
            var browser = Browser()
            _ = try await browser.signIn(client)
            return browser.cookie
        }
        try await R.application(store: store, configuration: try R.configuration(adminKeys: ["sk-admin"])).test(.router) { client in
            var browser = Browser(cookie: cookie)
            let page = try await browser.send(client, .get, "/console")
            #expect(page.status == .ok, "another gateway on the store reads the session")
        }
        try await R.application(store: store, configuration: try R.configuration(adminKeys: ["sk-other"])).test(.router) { client in
            var browser = Browser(cookie: cookie)
            let page = try await browser.send(client, .get, "/console")
            #expect(page.status == .seeOther, "a key taken out signs its sessions out")
        }
    }

    @Test(arguments: [("127.0.0.1", HTTPResponse.Status.ok), ("0.0.0.0", .forbidden)])
    func withoutOperatorKeysOnlyALoopbackGatewayServesIt(host: String, status: HTTPResponse.Status) async throws {
        try await R.application(store: MemoryStore(), configuration: try R.configuration(host: host)).test(.router) { client in
            var browser = Browser()
            let page = try await browser.send(client, .get, "/console")
            #expect(page.status == status)
            if status == .ok {
                #expect(Browser.text(page).contains("loopback operator"))
                let flush = try await browser.send(client, .post, "/console/queues/flush", form: "model=none")
                #expect(flush.status == .forbidden, "forms need their token on loopback too")
            }
        }
    }

    @Test func whatIsNotThereIsAPageThatSaysSo() async throws {
        let store = MemoryStore()
        try await store.acceptChat(id: "dfr_1", content: "one", at: 1000)
        _ = try await store.claimBatch(id: "bat_1", group: GroupKey(endpoint: "/v1/chat/completions", model: "qwen-plus"), policy: FlushPolicy(), now: 1001, lease: StoreConformanceTests.lease)
        try await R.application(store: store, configuration: try R.configuration(adminKeys: ["sk-admin"])).test(.router) { client in
            var browser = Browser()
            let token = try await browser.signIn(client)
            let batch = try await browser.send(client, .get, "/console/batches/bat_none")
            #expect(batch.status == .notFound && Browser.text(batch).contains("No batch with id"))
            let request = try await browser.send(client, .get, "/console/requests?id=dfr_none")
            #expect(request.status == .notFound && Browser.text(request).contains("No deferred request with id dfr_none"))
            let found = try await browser.send(client, .get, "/console/requests?id=dfr_1")
            #expect(found.status == .ok && Browser.text(found).contains("bat_1"), "its trace names the batch it is in")
            let status = try await browser.send(client, .get, "/console/batches?status=bogus")
            #expect(status.status == .badRequest && Browser.text(status).contains("Unknown status"))
            let preparing = try await browser.send(client, .get, "/console/batches/bat_1/cancel")
            #expect(preparing.status == .conflict && Browser.text(preparing).contains("cannot be cancelled"))
            let cancel = try await browser.send(client, .post, "/console/batches/bat_1/cancel", form: "requeue=on&csrf_token=\(token)")
            #expect(cancel.status == .seeOther)
            #expect(Browser.text(try await browser.send(client, .get, "/console/batches/bat_1")).contains("cannot be cancelled"), "the refusal as a notice")
            let open = Browser.text(try await browser.send(client, .get, "/console/batches?status=open"))
            #expect(open.contains("row-bat_1"))
        }
    }

    @Test func assetsAreServedByTheGatewayAndRevalidated() async throws {
        try await R.application(store: MemoryStore(), configuration: try R.configuration(adminKeys: ["sk-admin"])).test(.router) { client in
            let css = try await client.execute(uri: "/console/assets/console.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8" && css.body.readableBytes > 1000)
            let etag = try #require(css.headers[.eTag])
            let again = try await client.execute(uri: "/console/assets/console.css", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(try await client.execute(uri: "/console/assets/console.js", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/console/assets/nothing.js", method: .get).status == .notFound)
        }
    }
}
