// Text from a file (names, paths) made safe to print on a terminal: control and bidi characters
// are shown as escapes, so a hostile name cannot clear the screen, set the window title, hide
// text or reorder what a line says. The C loader escapes its messages the same way (cnnm_load.c).

/// `text` with every character a terminal would act on instead of showing replaced by an escape:
/// C0 controls and DEL as `\x1b`, `\x0a`, `\x00`…; C1 controls, the bidi embeddings, overrides,
/// isolates and marks (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) and the line/paragraph
/// separators (U+2028/9) as `\u{202e}`. Everything else, including non-Latin letters and emoji,
/// is kept. Use it for every name or path that goes into human-readable output (JSON output has
/// its own escaping).
public func displaySafe(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var out = ""
    out.reserveCapacity(text.utf8.count + 8)
    for scalar in text.unicodeScalars {
        if !needsEscape(scalar) {
            out.unicodeScalars.append(scalar)
        } else if scalar.value < 0x80 {
            out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
        } else {
            out += "\\u{" + String(scalar.value, radix: 16).leftPadded(to: 4) + "}"
        }
    }
    return out
}

/// True for the scalars `displaySafe` escapes.
func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: return true
    default: return false
    }
}
