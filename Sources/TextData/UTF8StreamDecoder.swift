// Chapter 06: printing tokens as they are sampled, without ever printing half a character.
//
// A byte-level token can end in the middle of a character: "é" is the two bytes c3 a9, and the model
// may sample them as two tokens. Printing each token's bytes on its own would show two broken glyphs.
// So bytes wait here until they complete a character.

/// Turns a stream of byte pieces into text, holding back an unfinished UTF-8 character until its last
/// byte arrives.
///
///     var decoder = UTF8StreamDecoder()
///     decoder.append([0x68, 0xc3])   ->  "h"      (0xc3 starts a two-byte character: held back)
///     decoder.append([0xa9])         ->  "é"
public struct UTF8StreamDecoder: Sendable {
    public private(set) var pendingBytes: [UInt8] = []

    public init() {}

    /// True while an unfinished character is held back.
    public var hasPendingBytes: Bool { !pendingBytes.isEmpty }

    /// Adds bytes and returns all the text that is now complete. Bytes that can never form a character
    /// (a stray continuation byte, say) come out as U+FFFD at once rather than blocking the stream.
    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        pendingBytes.append(contentsOf: bytes)
        let complete = Self.completePrefixLength(pendingBytes)
        let text = String(decoding: pendingBytes[..<complete], as: UTF8.self)
        pendingBytes.removeFirst(complete)
        return text
    }

    /// Whatever is still held back, as U+FFFD: call at the end of the stream.
    public mutating func finish() -> String {
        defer { pendingBytes.removeAll() }
        return String(decoding: pendingBytes, as: UTF8.self)
    }

    /// How many bytes a UTF-8 sequence starting with `lead` has: 1 to 4, or 0 if `lead` cannot start one.
    public static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7f: return 1
        case 0xc2...0xdf: return 2
        case 0xe0...0xef: return 3
        case 0xf0...0xf4: return 4
        default: return 0     // a continuation byte (80-bf) or a byte UTF-8 never uses
        }
    }

    /// The length of the longest prefix that does not end inside an unfinished character: look back at
    /// most three bytes for the last lead byte, and hold it back if its character still lacks bytes.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var start = bytes.count - 1
        while start >= 0, start >= bytes.count - 4 {
            let byte = bytes[start]
            if byte & 0b1100_0000 != 0b1000_0000 {          // not a continuation byte: a lead (or ASCII)
                let needed = sequenceLength(lead: byte)
                return needed > bytes.count - start ? start : bytes.count
            }
            start -= 1
        }
        return bytes.count
    }
}
