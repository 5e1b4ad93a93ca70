// A small, strict JSON reader for the headers and metadata of our files, which are hostile input until
// proven otherwise. Stricter than Foundation's JSONSerialization in the ways that matter here:
//
//   - a key that appears twice in one object is an error (JSONSerialization keeps the last, JSONDecoder
//     the first: either way a crafted file could say two things at once)
//   - numbers keep their text, so an integer is read exactly or refused (no detour through Double,
//     which rounds above 2^53), and an integer too large for Int is an error, not a wrapped value
//   - strings must be valid UTF-8 without raw control characters
//   - nesting is bounded (64 levels), so no input can exhaust the stack
//
// Everything else is RFC 8259 JSON.

import Foundation

public struct JSONError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public indirect enum JSONValue: Equatable, Sendable {
    /// Members in the order written; keys are unique.
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number as written, e.g. "12", "-3.5e2".
    case number(String)
    case bool(Bool)
    case null

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a), .array(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    public static let maximumDepth = 64

    /// Parses one JSON value filling all of `bytes` (whitespace around it allowed).
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws -> JSONValue where Bytes.Element == UInt8 {
        var reader = Reader(bytes: Array(bytes))
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.atEnd else { throw JSONError("unexpected \(reader.describeNext()) after the JSON value") }
        return value
    }

    public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

    /// The members of an object, or nil.
    public var members: [(key: String, value: JSONValue)]? { if case .object(let members) = self { return members } else { return nil } }
    public var elements: [JSONValue]? { if case .array(let elements) = self { return elements } else { return nil } }
    public var string: String? { if case .string(let string) = self { return string } else { return nil } }
    /// An integer written without fraction or exponent that fits in Int, or nil.
    public var integer: Int? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(text)
    }

    public subscript(key: String) -> JSONValue? { members?.first { $0.key == key }?.value }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        func describeNext() -> String { atEnd ? "end of input" : "\(Self.show(bytes[index])) at byte \(index)" }

        /// 'x' for printable ASCII, else 0x0a: error messages stay on one line whatever the input holds.
        static func show(_ byte: UInt8) -> String {
            (32..<127).contains(byte) ? "'\(Character(UnicodeScalar(byte)))'" : "0x\(String(byte, radix: 16))"
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8) throws {
            guard !atEnd, bytes[index] == byte else {
                throw JSONError("expected \(Self.show(byte)) but found \(describeNext())")
            }
            index += 1
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSONValue.maximumDepth else { throw JSONError("nested deeper than \(JSONValue.maximumDepth) levels") }
            guard !atEnd else { throw JSONError("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, value: JSONValue)] = []
                var keys = Set<String>()
                skipWhitespace()
                if !atEnd, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    let key = try string()
                    guard keys.insert(key).inserted else { throw JSONError("key \(key.debugDescription) appears twice in one object") }
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    skipWhitespace()
                    members.append((key, try value(depth: depth + 1)))
                    skipWhitespace()
                    if !atEnd, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect(UInt8(ascii: "}"))
                    return .object(members)
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [JSONValue] = []
                skipWhitespace()
                if !atEnd, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                while true {
                    skipWhitespace()
                    elements.append(try value(depth: depth + 1))
                    skipWhitespace()
                    if !atEnd, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect(UInt8(ascii: "]"))
                    return .array(elements)
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default: return .number(try number())
            }
        }

        mutating func literal(_ word: String) throws {
            for byte in word.utf8 { try expect(byte) }
        }

        /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() throws -> String {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index - first
            }
            if !atEnd, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let leadingZero = !atEnd && bytes[index] == UInt8(ascii: "0")
            let integerDigits = digits()
            guard integerDigits > 0, !(leadingZero && integerDigits > 1) else {
                index = start
                throw JSONError("expected a value but found \(describeNext())")
            }
            if !atEnd, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw JSONError("a number's fraction has no digits (byte \(index))") }
            }
            if !atEnd, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if !atEnd, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw JSONError("a number's exponent has no digits (byte \(index))") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            var utf8: [UInt8] = []
            var run = index   // the bytes from here to `index` are plain and not yet copied
            while true {
                guard !atEnd else { throw JSONError("a string is not closed") }
                let byte = bytes[index]
                guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 else { index += 1; continue }
                utf8.append(contentsOf: bytes[run..<index])
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let string = String(validating: utf8, as: UTF8.self) else { throw JSONError("a string is not valid UTF-8") }
                    return string
                case UInt8(ascii: "\\"):
                    guard !atEnd else { throw JSONError("a string is not closed") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {   // a surrogate pair: \uD83D\uDE00
                            try expect(UInt8(ascii: "\\"))
                            try expect(UInt8(ascii: "u"))
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw JSONError("an unpaired surrogate in a string") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw JSONError("an unpaired surrogate in a string") }
                        utf8.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default: throw JSONError("unknown escape \\ \(Self.show(escape)) in a string")
                    }
                    run = index
                default: throw JSONError("a raw control character (0x\(String(byte, radix: 16))) in a string")
                }
            }
        }

        mutating func hex4() throws -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard !atEnd, let digit = UInt32(String(UnicodeScalar(bytes[index])), radix: 16) else {
                    throw JSONError("\\u needs four hex digits")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}

extension JSONValue {
    /// Decodes `text` into `T` after the strict parse above has accepted it (so a duplicated key or a
    /// bottomless nesting is refused before Foundation sees it). Errors are one line naming the bad field.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String,
                                            configure: (JSONDecoder) -> Void = { _ in }) throws -> T {
        _ = try parse(text)
        let decoder = JSONDecoder()
        configure(decoder)
        do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch let error as DecodingError {
            throw JSONError(describe(error))
        }
    }

    /// "heads: missing", "batchSize: expected Int" and so on.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ last: CodingKey? = nil) -> String {
            let keys = (context.codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "the value" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context, key)): missing"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context):
            let reason = (context.underlyingError as? CustomStringConvertible)?.description ?? context.debugDescription
            return "\(path(context)): \(oneLine(reason))"
        @unknown default: return "unreadable"
        }
    }

    /// The first line of `text`, cut at any line break (\n, \r, \r\n, U+2028, ...): error messages quote
    /// what a file holds, and must stay one line whatever it holds.
    public static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }
}
