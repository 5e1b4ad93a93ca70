// How the chapters print counts.

/// 1234567 -> "1,234,567", for the printed counts.
public func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    let withCommas = String(digits.reversed().enumerated()
        .map { $0.offset > 0 && $0.offset % 3 == 0 ? ",\($0.element)" : "\($0.element)" }.joined().reversed())
    return n < 0 ? "-" + withCommas : withCommas
}
