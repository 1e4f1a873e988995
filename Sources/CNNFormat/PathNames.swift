// Path arithmetic on the names users give, through swift-system's FilePath: the folder a file
// is in, its last component, a name derived from it. (Foundation's NSString path methods trap
// on a one-character path on Linux; `fold -o a` crashed with SIGILL.)
import SystemPackage

/// Path arithmetic that does not trap on short or odd names, shared by the CLI and the library
/// workflows so that derived names ("model.folded.cnnm") are made one way.
public enum PathNames {
    /// The folder holding `path` ("." for a bare name, "/" for a file in the root).
    public static func folder(of path: String) -> String {
        let folder = FilePath(path).removingLastComponent()
        return folder.isEmpty ? "." : folder.string
    }

    /// The last component of `path` (the path itself when it has none).
    public static func name(of path: String) -> String {
        FilePath(path).lastComponent?.string ?? path
    }

    /// `MODEL.ext` → `MODEL<suffix>.ext` (`MODEL<suffix>` when there is no extension):
    /// the default names of derived models (".folded", ".recalibrated").
    public static func inserting(_ suffix: String, beforeExtensionOf path: String) -> String {
        var file = FilePath(path)
        guard let last = file.lastComponent else { return path + suffix }
        let stem = last.stem, ext = last.extension
        file.removeLastComponent()
        file.append(FilePath.Component(ext.map { "\(stem)\(suffix).\($0)" } ?? "\(stem)\(suffix)")!)
        return file.string
    }

    /// `folder/name`.
    public static func joining(_ folder: String, _ name: String) -> String {
        FilePath(folder).appending(name).string
    }
}
