// The safetensors file format, read and written by our own code:
//
//   8 bytes     N, the header length, unsigned little-endian
//   N bytes     a JSON object: for each tensor  "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//               and optionally "__metadata__": {"key": "string value", ...}
//   the rest    the raw tensor bytes; offsets count from the first byte after the header
//
// F32 is what checkpoints hold; an int8 file (`nanogpt quantize`) also holds I8 blocks and their F16 scales.
// A reader says which dtypes it accepts (F32 unless told otherwise). Every way a file can be malformed ends
// in a SafeTensorsError saying what is wrong, never in a trap.
import Foundation
import TensorCore

public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum SafeTensors {
    /// The element types this project reads and writes, named as the format names them.
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", i8 = "I8"
        public var byteCount: Int { switch self { case .f32: 4; case .f16: 2; case .i8: 1 } }
    }

    /// One stored tensor: F32 and F16 numbers in `values` (F16 widened exactly), I8 ones in `int8`.
    public struct Entry: Equatable, Sendable {
        public var shape: [Int]
        public var dtype: DType
        public var values: [Float]
        public var int8: [Int8]
        public init(shape: [Int], values: [Float]) { self.init(shape: shape, dtype: .f32, values: values) }
        public init(shape: [Int], dtype: DType, values: [Float] = [], int8: [Int8] = []) {
            self.shape = shape; self.dtype = dtype; self.values = values; self.int8 = int8
        }
        /// The entry as `encode(entries:)` writes it back.
        public var stored: Stored {
            switch dtype {
            case .f32: .f32(shape, values)
            case .f16: .f16(shape, values.map { Float16($0) })
            case .i8: .i8(shape, int8)
            }
        }
    }

    /// The largest header we read, as in the format's reference implementation (100 MB): a length
    /// prefix above it is refused before anything is allocated.
    public static let maximumHeaderLength = 100_000_000

    /// The bytes of a safetensors file holding `tensors` in the given order, with `metadata`.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        try encode(entries: tensors.map { ($0.0, .f32($0.1.shape, $0.1.storage.toHost())) }, metadata: metadata)   // a host copy each
    }

    /// One tensor to write, in any of the dtypes above.
    public enum Stored {
        case f32([Int], [Float]), f16([Int], [Float16]), i8([Int], [Int8])
        var shape: [Int] { switch self { case .f32(let s, _), .f16(let s, _), .i8(let s, _): s } }
        var dtype: DType { switch self { case .f32: .f32; case .f16: .f16; case .i8: .i8 } }
        var byteCount: Int {
            switch self { case .f32(_, let v): 4 * v.count; case .f16(_, let v): 2 * v.count; case .i8(_, let v): v.count }
        }
    }

    /// The bytes of a safetensors file holding `entries` in the given order, with `metadata`.
    public static func encode(entries: [(String, Stored)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, entry) in entries {
            guard header[name] == nil, name != "__metadata__" else { throw SafeTensorsError("duplicate tensor name \(name)") }
            guard entry.shape.reduce(1, *) * entry.dtype.byteCount == entry.byteCount else {
                throw SafeTensorsError("\(name): shape \(entry.shape) does not match its \(entry.byteCount) bytes")
            }
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.byteCount]]
            offset += entry.byteCount
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, entry) in entries {
            switch entry {
            case .f32(_, let values): appendLittleEndian(values, to: &data)
            case .f16(_, let values): appendLittleEndian(values.map(\.bitPattern), to: &data)
            case .i8(_, let values): values.withUnsafeBufferPointer { data.append($0) }
            }
        }
        return data
    }

    /// Parses and checks a whole file the way the format's reference implementation does: a header
    /// length within the file and within `maximumHeaderLength`; a strict JSON object (no key twice);
    /// for every tensor a known dtype, a shape of non-negative integers whose element and byte counts are
    /// computed with overflow checks and must equal its data_offsets' span; and offsets that, sorted,
    /// start at 0, each begin where the previous one ended (no overlap, no gap) and end exactly at the
    /// end of the file. Returns the tensors by name and the metadata.
    public static func decode(_ data: Data, accepting dtypes: Set<DType> = [.f32]) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        guard data.count >= 8 else { throw SafeTensorsError("file too short for a safetensors header (\(data.count) bytes)") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw SafeTensorsError("header length \(headerLength) is above the \(maximumHeaderLength)-byte limit: not a safetensors file")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafeTensorsError("header length \(headerLength) is larger than the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerEnd = 8 + Int(headerLength)
        let start = data.startIndex
        guard headerLength > 0, data[start + 8] == UInt8(ascii: "{") else {
            throw SafeTensorsError("the header does not start with '{': not a safetensors file")
        }
        let header: [(key: String, value: JSONValue)]
        do {
            guard let members = try JSONValue.parse(data[(start + 8)..<(start + headerEnd)]).members else {
                throw SafeTensorsError("the header is not a JSON object")
            }
            header = members
        } catch let error as JSONError { throw SafeTensorsError("the header is not valid JSON: \(error.description)") }
        let payload = data.count - headerEnd

        var metadata: [String: String] = [:]
        var located: [(name: String, shape: [Int], dtype: DType, begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let members = value.members else { throw SafeTensorsError("__metadata__ is not an object") }
                for (key, value) in members {
                    guard let string = value.string else { throw SafeTensorsError("metadata \(key.debugDescription) is not a string") }
                    metadata[key] = string
                }
                continue
            }
            guard let info = value.members else { throw SafeTensorsError("entry \(name.debugDescription) is not an object") }
            if let unknown = info.first(where: { !["dtype", "shape", "data_offsets"].contains($0.key) }) {
                throw SafeTensorsError("\(name.debugDescription): unknown field \(unknown.key.debugDescription)")
            }
            guard let dtype = value["dtype"]?.string else { throw SafeTensorsError("\(name.debugDescription): missing dtype") }
            guard let known = DType(rawValue: dtype), dtypes.contains(known) else {
                let names = DType.allCases.filter(dtypes.contains).map(\.rawValue).joined(separator: ", ")
                throw SafeTensorsError("\(name.debugDescription): dtype \(dtype.debugDescription) is not supported here (only \(names))")
            }
            guard let shapeValues = value["shape"]?.elements, let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 })
            else { throw SafeTensorsError("\(name.debugDescription): shape is not a list of non-negative integers") }
            guard let offsetValues = value["data_offsets"]?.elements, let offsets = integers(offsetValues), offsets.count == 2
            else { throw SafeTensorsError("\(name.debugDescription): data_offsets is not a pair of integers") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= payload else {
                throw SafeTensorsError("\(name.debugDescription): data_offsets [\(begin), \(end)] lie outside the \(payload) bytes of data")
            }
            guard let bytes = checkedProduct(shape + [known.byteCount]) else {
                throw SafeTensorsError("\(name.debugDescription): shape \(shape) has more elements than any file can hold")
            }
            guard bytes == end - begin else {
                throw SafeTensorsError("\(name.debugDescription): shape \(shape) needs \(bytes) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            located.append((name, shape, known, begin, end))
        }

        // The tensors must tile the data exactly: sorted by offset, each starts where the previous ended.
        located.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for tensor in located {
            guard tensor.begin == covered else {
                throw SafeTensorsError(tensor.begin < covered
                    ? "\(tensor.name.debugDescription): data_offsets [\(tensor.begin), \(tensor.end)] overlap the tensor before it (which ends at \(covered))"
                    : "\(tensor.name.debugDescription): data_offsets start at \(tensor.begin), leaving bytes \(covered)..<\(tensor.begin) unused")
            }
            covered = tensor.end
        }
        guard covered == payload else {
            throw SafeTensorsError("the tensors cover \(covered) of the \(payload) bytes of data: the file is truncated, padded or corrupt")
        }

        var tensors: [String: Entry] = [:]
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            for tensor in located {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[(headerEnd + tensor.begin)..<(headerEnd + tensor.end)])
                let count = (tensor.end - tensor.begin) / tensor.dtype.byteCount
                switch tensor.dtype {
                case .f32:
                    let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                        readLittleEndian(raw, into: buffer)
                        initialized = count
                    }
                    tensors[tensor.name] = Entry(shape: tensor.shape, values: values)
                case .f16:
                    let values = (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
                    tensors[tensor.name] = Entry(shape: tensor.shape, dtype: .f16, values: values)
                case .i8:
                    tensors[tensor.name] = Entry(shape: tensor.shape, dtype: .i8, int8: raw.map { Int8(bitPattern: $0) })
                }
            }
        }
        return (tensors, metadata)
    }

    /// The product of `dimensions`, or nil when it overflows Int.
    static func checkedProduct(_ dimensions: [Int]) -> Int? {
        var product = 1
        for dimension in dimensions {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }

    /// JSON integers as Ints, refusing fractions, exponents, booleans and numbers too large for Int.
    private static func integers(_ values: [JSONValue]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            guard let integer = value.integer else { return nil }
            result.append(integer)
        }
        return result
    }

    /// One bulk copy: the file's byte order is the host's on every platform Swift runs on here.
    private static func appendLittleEndian(_ values: [Float], to data: inout Data) {
        #if _endian(little)
        values.withUnsafeBufferPointer { data.append($0) }
        #else
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        #endif
    }

    private static func appendLittleEndian(_ values: [UInt16], to data: inout Data) {
        for value in values { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    }

    private static func readLittleEndian(_ bytes: UnsafeRawBufferPointer, into values: UnsafeMutableBufferPointer<Float>) {
        #if _endian(little)
        UnsafeMutableRawBufferPointer(values).copyMemory(from: bytes)
        #else
        for i in 0..<values.count {
            values[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
        #endif
    }
}
