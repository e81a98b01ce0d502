import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffpeakCore
import OffpeakProvider
import OffpeakTestSupport
import Synchronization
import Testing

/// The simulated provider's file upload, read in place from one buffer: what is uploaded in
/// several chunks comes back byte for byte, and a malformed form is refused.
@Suite struct SimulatorUploadTests {
    @Test func aFileUploadedInChunksReadsBackByteForByte() async throws {
        // Lines that look like parts of a form: dashes, a CR-less boundary-ish text, and quotes.
        let lines = (0..<3000).map { index in
            #"{"custom_id":"dfr_\#(index)","body":{"text":"--offpeak-\#(index) \"--\" \\r\\n end"}}"# + "\n"
        }
        let file = Array(lines.joined().utf8)
        try await withInProcessSimulator { upstream in
            let provider = HTTPBatchProvider(client: .shared, baseURL: upstream, apiKey: "sk-test")
            let chunks = stride(from: 0, to: file.count, by: 7_919).map { Array(file[$0..<min($0 + 7_919, file.count)]) }
            let fileID = try await provider.uploadBatchFile(filename: "f.jsonl", size: file.count) {
                let next = Mutex(0)
                return {
                    let index = next.withLock { value -> Int in
                        defer { value += 1 }
                        return value
                    }
                    return index < chunks.count ? ByteBuffer(bytes: chunks[index]) : nil
                }
            }
            let read = Mutex<[UInt8]>([])
            try await provider.readFileLines(id: fileID) { batch in
                read.withLock { bytes in
                    for line in batch { bytes += line + [0x0A] }
                }
            }
            #expect(read.withLock { $0 } == file)
        }
    }

    @Test func aMalformedFormIsRefusedWith400() async throws {
        try await withInProcessSimulator { upstream in
            for body in ["", "no boundary here", "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated"] {
                var request = HTTPClientRequest(url: upstream + "/files")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer sk-test")
                request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=b")
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                #expect(response.status.code == 400, "body: \(body)")
            }
        }
    }
}
