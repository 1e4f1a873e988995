// NumPy .npz archives (what numpy.savez writes and numpy.load reads): a zip of .npy files, here
// stored uncompressed. Zip64 is not written: an archive is refused past 4 GiB.
// The zip layout: PKWARE's APPNOTE.TXT, sections 4.3.7 (local header), 4.3.12 (central
// directory), 4.3.16 (end of central directory).
import CNNFormat
import Foundation

/// Writing NumPy .npz archives (`numpy.load` reads them), for commands that output several
/// arrays at once (`run --uncertainty-out FILE.npz`: predictive mean, variance and entropies).
public enum NPZ {
    /// The archive image holding each array as NAME.npy, in the order given.
    public static func encode(_ arrays: [(name: String, array: NPYArray)]) throws(NPYError) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func le16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: UInt32, _ b: inout [UInt8]) {
            for s in stride(from: 0, to: 32, by: 8) { b.append(UInt8(v >> UInt32(s) & 0xFF)) }
        }
        for (name, array) in arrays {
            let data = NPY.encode(array), file = Array((name + ".npy").utf8)
            guard data.count < Int(UInt32.max), out.count < Int(UInt32.max), file.count < 0xFFFF else {
                throw .io(path: name, message: "too large for a zip archive without zip64")
            }
            let crc = crc32(data), offset = UInt32(out.count)
            // Local file header: version 2.0, no flags, stored, 1980-01-01 00:00.
            var header: [UInt8] = []
            le32(0x0403_4B50, &header); le16(20, &header); le16(0, &header); le16(0, &header)
            le16(0, &header); le16(0x21, &header)
            le32(crc, &header); le32(UInt32(data.count), &header); le32(UInt32(data.count), &header)
            le16(file.count, &header); le16(0, &header)
            out += header + file + data
            le32(0x0201_4B50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
            le16(0, &central); le16(0x21, &central)
            le32(crc, &central); le32(UInt32(data.count), &central); le32(UInt32(data.count), &central)
            le16(file.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0, &central); le32(offset, &central)
            central += file
        }
        guard out.count < Int(UInt32.max), arrays.count < 0xFFFF else {
            throw .io(path: "<npz>", message: "too large for a zip archive without zip64")
        }
        let start = UInt32(out.count)
        out += central
        le32(0x0605_4B50, &out); le16(0, &out); le16(0, &out); le16(arrays.count, &out); le16(arrays.count, &out)
        le32(UInt32(central.count), &out); le32(start, &out); le16(0, &out)
        return out
    }

    /// Writes the archive atomically (a temporary file in the same folder, then a rename).
    public static func write(_ arrays: [(name: String, array: NPYArray)], to path: String) throws(NPYError) {
        let bytes = try encode(arrays)
        do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .io(path: path, message: "cannot write: \(error.localizedDescription)")
        }
    }
}
