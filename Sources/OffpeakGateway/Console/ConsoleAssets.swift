import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The console's stylesheet, script and icon, compiled into the binary (`Console/Assets`): no CDN,
/// so the console works on a closed network. Browsers revalidate them by ETag.
enum ConsoleAssets {
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
        let etag: String

        init(_ bytes: [UInt8], _ contentType: String) {
            self.bytes = bytes
            self.contentType = contentType
            etag = "\"" + SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined() + "\""
        }
    }

    static let all: [String: Asset] = [
        "console.css": Asset(PackageResources.console_css, "text/css; charset=utf-8"),
        "console.js": Asset(PackageResources.console_js, "text/javascript; charset=utf-8"),
        "icon.svg": Asset(PackageResources.icon_svg, "image/svg+xml"),
    ]

    static func register(on group: RouterGroup<ConsoleContext>) {
        group.get("assets/:name") { request, context in
            guard let asset = all[try context.parameters.require("name")] else { throw HTTPError(.notFound) }
            var headers: HTTPFields = [
                .contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ]
            if request.headers[.ifNoneMatch] == asset.etag {
                headers[.contentType] = nil
                return Response(status: .notModified, headers: headers)
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
        }
    }
}
