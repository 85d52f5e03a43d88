using System.Text.RegularExpressions;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>
/// Every reference to the documentation points at something in this repository: a page
/// <c>docs/{page}.md</c> that exists and, for <c>docs/{page}.md, "Section"</c>, a heading with exactly
/// that text (backticks aside). Sections are cited by their words, never by number, so that references
/// survive edits. Every document named anywhere is one of the repository's, and no relative path
/// climbs out of it.
/// </summary>
public sealed partial class DocReferenceTests
{
    /// <summary>Where references are looked for: the code, the tests, the scripts, and the docs themselves.</summary>
    private static readonly string[] Scanned = ["src", "tests", "scripts", "packaging", "docs", "README.md"];

    // docs/{page}.md, optionally closed by a backtick, optionally followed by , "Section" (which may
    // wrap onto the next comment line).
    [GeneratedRegex("""docs/(?<file>[\w./-]+?\.md)`?(?:,\s*(?:(?:///?|\#|\*)\s*)?"(?<section>[^"]{1,120})")?""")]
    private static partial Regex Reference();

    [GeneratedRegex(@"\s*\n\s*(?:///?|\#|\*)?\s*")]
    private static partial Regex LineBreakInComment();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.*?)\s*$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    // A Markdown file named anywhere: a path or a bare name ending in .md.
    [GeneratedRegex(@"(?<![\w./-])(?<path>[\w./-]*[\w-]\.md)\b")]
    private static partial Regex MarkdownName();

    // A relative path that climbs: one or more ../ and what follows.
    [GeneratedRegex(@"(?<![\w.])(?<path>(?:\.\./)+[\w.-]+)")]
    private static partial Regex ClimbingPath();

    [Fact]
    public void EveryDocReferenceNamesAFileAndHeadingThatExist()
    {
        var problems = new List<string>();
        int references = 0, sections = 0;
        foreach (string file in TextFiles())
        {
            string text = File.ReadAllText(file);
            foreach (Match match in Reference().Matches(text))
            {
                references++;
                string doc = "docs/" + match.Groups["file"].Value;
                string where = $"{Relative(file)}:{LineOf(text, match.Index)}";
                string path = Path.Combine(RepositoryLayout.Root, doc);
                if (!File.Exists(path))
                {
                    problems.Add($"{where}: {doc} does not exist");
                    continue;
                }
                if (!match.Groups["section"].Success) continue;
                sections++;
                string section = Normalize(LineBreakInComment().Replace(match.Groups["section"].Value, " "));
                if (!Headings(path).Contains(section))
                    problems.Add($"{where}: {doc} has no heading \"{section}\"");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(references > 20 && sections > 20, $"only {references} references ({sections} with a section) found: is the scan looking in the right place?");
    }

    [Fact]
    public void EveryDocumentNamedAndEveryRelativePathIsInsideTheRepository()
    {
        // Not into dot directories at all: .cache holds the systemd test's root file system, which a
        // concurrent test may be building, /proc mounted in it (unreadable, and not ours).
        var everywhere = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
        HashSet<string> markdownNames = Directory.EnumerateFiles(RepositoryLayout.Root, "*.md")
            .Concat(Directory.EnumerateDirectories(RepositoryLayout.Root)
                .Where(d => !Path.GetFileName(d).StartsWith('.'))
                .SelectMany(d => Directory.EnumerateFiles(d, "*.md", everywhere)))
            .Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal)!;
        var problems = new List<string>();
        foreach (string file in TextFiles())
        {
            string text = File.ReadAllText(file);
            string directory = Path.GetDirectoryName(file)!;
            foreach (Match match in MarkdownName().Matches(text))
            {
                string named = match.Groups["path"].Value;
                if (!ResolvesInside(named, directory) && !markdownNames.Contains(Path.GetFileName(named)))
                    problems.Add($"{Relative(file)}:{LineOf(text, match.Index)}: '{named}' is not a document of this repository");
            }
            foreach (Match match in ClimbingPath().Matches(text))
                if (!IsInside(Path.GetFullPath(Path.Combine(directory, match.Groups["path"].Value))))
                    problems.Add($"{Relative(file)}:{LineOf(text, match.Index)}: '{match.Groups["path"].Value}' leaves the repository");
        }

        Assert.True(problems.Count == 0, "cite docs/{page}.md, \"Section\" instead:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void TheOutsideCheckCatchesADocumentOrPathOutsideTheRepository()
    {
        string here = Path.Combine(RepositoryLayout.Root, "src");
        string outside = "no-such-note" + ".md"; // in pieces, or this file would name it
        Assert.Equal(outside, MarkdownName().Match($"see {outside}, 1.6").Groups["path"].Value);
        Assert.False(ResolvesInside(outside, here));
        Assert.True(ResolvesInside("docs/protocol.md", here));
        Assert.Equal("../../elsewhere", ClimbingPath().Match("(../../elsewhere/notes)").Groups["path"].Value);
        Assert.False(IsInside(Path.GetFullPath(Path.Combine(here, "../../elsewhere"))));
        Assert.True(IsInside(Path.GetFullPath(Path.Combine(here, "../docs"))));
    }

    /// <summary>Whether <paramref name="named"/> is a file of the repository, taken from its root or
    /// from the directory of the file that names it.</summary>
    private static bool ResolvesInside(string named, string directory) =>
        new[] { RepositoryLayout.Root, directory }.Select(b => Path.GetFullPath(Path.Combine(b, named))).Any(p => IsInside(p) && File.Exists(p));

    private static bool IsInside(string fullPath) =>
        (fullPath + "/").StartsWith(Path.GetFullPath(RepositoryLayout.Root).TrimEnd('/') + "/", StringComparison.Ordinal);

    [Fact]
    public void TheScanFindsBrokenReferences()
    {
        // A reference to a heading that does not exist would be reported.
        Match match = Reference().Match("(see docs/protocol.md,\n    /// \"No such section\")");
        Assert.True(match.Success && match.Groups["section"].Success);
        Assert.Equal("No such section", Normalize(LineBreakInComment().Replace(match.Groups["section"].Value, " ")));
        Assert.DoesNotContain("No such section", Headings(Path.Combine(RepositoryLayout.Root, "docs", "protocol.md")));
    }

    private static string Normalize(string text) => text.Replace("`", "", StringComparison.Ordinal).Trim();

    private static HashSet<string> Headings(string markdown)
    {
        var headings = new HashSet<string>(StringComparer.Ordinal);
        bool inFence = false;
        foreach (string line in File.ReadLines(markdown))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            if (inFence) continue;
            Match heading = Heading().Match(line);
            if (heading.Success) headings.Add(Normalize(heading.Groups["text"].Value));
        }
        return headings;
    }

    /// <summary>The repository's text files under <see cref="Scanned"/>, without build output.</summary>
    private static IEnumerable<string> TextFiles()
    {
        foreach (string entry in Scanned)
        {
            string path = Path.Combine(RepositoryLayout.Root, entry);
            if (File.Exists(path))
            {
                yield return path;
                continue;
            }
            if (!Directory.Exists(path)) continue;
            foreach (string file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
            {
                string relative = Relative(file);
                if (relative.Split('/').Any(part => part is "bin" or "obj" or "artifacts" or "TestResults")) continue;
                if (IsBinary(file)) continue;
                yield return file;
            }
        }
    }

    private static bool IsBinary(string file)
    {
        var info = new FileInfo(file);
        if (info.Length > 4 * 1024 * 1024) return true;
        Span<byte> head = stackalloc byte[8000];
        using FileStream stream = File.OpenRead(file);
        int n = stream.Read(head);
        return head[..n].Contains((byte)0);
    }

    private static string Relative(string file) => Path.GetRelativePath(RepositoryLayout.Root, file).Replace('\\', '/');

    private static int LineOf(string text, int index) => text.AsSpan(0, index).Count('\n') + 1;
}
