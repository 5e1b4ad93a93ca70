// The safetensors file format, read and written by our own code:
//
//   8 bytes     N, the header length, unsigned little-endian
//   N bytes     a JSON object: for each tensor  "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//               and optionally "__metadata__": {"key": "string value", ...}
//   the rest    the raw tensor bytes; offsets count from the first byte after the header
//
// Only F32 (little-endian) is supported, which is what this project writes. Every way a file can be
// malformed ends in a SafeTensorsError saying what is wrong, never in a trap.
import Foundation

public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum SafeTensors {
    /// One stored tensor.
    public struct Entry: Equatable, Sendable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    /// The bytes of a safetensors file holding `tensors` in the given order, with `metadata`.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            guard header[name] == nil, name != "__metadata__" else { throw SafeTensorsError("duplicate tensor name \(name)") }
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + 4 * tensor.count]]
            offset += 4 * tensor.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, tensor) in tensors {
            for value in tensor.storage.buffer { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// Parses and checks a whole file: the header length, the JSON, every entry's dtype, shape and
    /// offsets. Returns the tensors by name and the metadata.
    public static func decode(_ data: Data) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        guard data.count >= 8 else { throw SafeTensorsError("file too short for a safetensors header (\(data.count) bytes)") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafeTensorsError("header length \(headerLength) is larger than the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + headerEnd)
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw SafeTensorsError("header is not a JSON object")
        }
        let payload = data.count - headerEnd
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let values = raw as? [String: Any] else { throw SafeTensorsError("__metadata__ is not an object") }
            for (key, value) in values {
                guard let string = value as? String else { throw SafeTensorsError("metadata \(key) is not a string") }
                metadata[key] = string
            }
        }
        var tensors: [String: Entry] = [:]
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else { throw SafeTensorsError("entry \(name) is not an object") }
            guard let dtype = info["dtype"] as? String else { throw SafeTensorsError("\(name): missing dtype") }
            guard dtype == "F32" else { throw SafeTensorsError("\(name): dtype \(dtype) is not supported (only F32)") }
            guard let shapeValues = info["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 })
            else { throw SafeTensorsError("\(name): shape is not a list of non-negative integers") }
            guard let offsetValues = info["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2
            else { throw SafeTensorsError("\(name): data_offsets is not a pair of integers") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= payload else {
                throw SafeTensorsError("\(name): data_offsets [\(begin), \(end)] lie outside the \(payload) bytes of data")
            }
            let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            guard !overflow, count.multipliedReportingOverflow(by: 4).partialValue == end - begin else {
                throw SafeTensorsError("\(name): shape \(shape) needs \(count) floats but data_offsets hold \(end - begin) bytes")
            }
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { bytes in
                let base = headerEnd + begin
                for i in 0..<count {
                    values[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self)))
                }
            }
            tensors[name] = Entry(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// JSON numbers as Ints, refusing fractions, booleans and numbers too large for Int.
    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            // Booleans also arrive as NSNumber; their Objective-C type code is "c".
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
            let double = number.doubleValue
            guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }
}
