import NIOCore
import OffpeakCore

/// A `multipart/form-data` body with `purpose=batch` and the file, whose size is known up front
/// so that it goes out with a Content-Length while the file itself is produced chunk by chunk.
actor MultipartUpload {
    nonisolated let boundary: String
    nonisolated let totalSize: Int
    private let preamble: ByteBuffer
    private let epilogue: ByteBuffer
    private let reader: ChunkReader
    private var phase = 0
    private var written = 0
    private let fileSize: Int

    init(filename: String, fileSize: Int, reader: @escaping ChunkReader) {
        let boundary = "offpeak-" + Identifier.make(prefix: "", length: 32)
        self.boundary = boundary
        let safeName = filename.filter { $0 != "\"" && $0 != "\r" && $0 != "\n" }
        preamble = ByteBuffer(
            string: ("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(safeName)\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n"))
        epilogue = ByteBuffer(string: "\r\n--\(boundary)--\r\n")
        totalSize = preamble.readableBytes + fileSize + epilogue.readableBytes
        self.fileSize = fileSize
        self.reader = reader
    }

    struct SizeMismatch: Error, CustomStringConvertible {
        let expected: Int
        let actual: Int
        var description: String { "the batch file came out at \(actual) bytes, not the \(expected) announced" }
    }

    /// The next part of the body: the chunks the reader yields go out as they are, uncopied.
    func next() async throws -> ByteBuffer? {
        switch phase {
        case 0:
            phase = 1
            return preamble
        case 1:
            if let chunk = try await reader() {
                written += chunk.readableBytes
                guard written <= fileSize else { throw SizeMismatch(expected: fileSize, actual: written) }
                return chunk
            }
            guard written == fileSize else { throw SizeMismatch(expected: fileSize, actual: written) }
            phase = 2
            return epilogue
        default:
            return nil
        }
    }
}
