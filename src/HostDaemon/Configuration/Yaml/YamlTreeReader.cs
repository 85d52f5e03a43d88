using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>
/// Builds a <see cref="ConfigNode"/> tree from YamlDotNet's parser events, keeping every node's
/// position. A syntax error ends reading (the parser cannot resynchronise) and is reported once;
/// duplicate keys, non-scalar keys, unknown aliases and extra documents are reported and reading goes on.
/// </summary>
internal sealed class YamlTreeReader
{
    // Far deeper than any valid configuration (4 levels); stops a hostile file from overflowing the stack.
    private const int MaxDepth = 64;

    private readonly IParser _parser;
    private readonly ConfigErrorSink _errors;
    private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);
    private readonly Stack<(char Opener, SourceMark At)> _openFlows = new();
    private SourceMark _lastMark = SourceMark.Start;

    private YamlTreeReader(string text, ConfigErrorSink errors)
    {
        _parser = new Parser(new StringReader(text));
        _errors = errors;
    }

    /// <summary>The document's root node, or null when the text holds no document (empty or only
    /// comments) or a syntax error stopped reading (then the error is in <paramref name="errors"/>).</summary>
    public static ConfigNode? Read(string text, ConfigErrorSink errors) => new YamlTreeReader(text, errors).ReadStream();

    private ConfigNode? ReadStream()
    {
        try
        {
            _parser.Consume<StreamStart>();
            if (_parser.TryConsume<StreamEnd>(out _))
                return null;
            _parser.Consume<DocumentStart>();
            ConfigNode root = ReadNode(depth: 0);
            _parser.Consume<DocumentEnd>();
            if (_parser.Accept<DocumentStart>(out var second))
                _errors.Add(SourceMark.From(second.Start),
                    "a second YAML document starts here; a configuration is exactly one document (remove the '---' and what follows, or merge it into the first)");
            return root;
        }
        catch (YamlException ex)
        {
            _errors.Add(SourceMark.From(ex.Start), SyntaxMessage(ex.Message));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 18 throws this instead of a YamlException for some unterminated flow
            // collections ("a: [1, 2" followed by more lines). The open bracket is the useful place.
            if (_openFlows.TryPeek(out var open))
                _errors.Add(open.At, $"YAML syntax error: the '{open.Opener}' opened here is never closed; close it with '{Closer(open.Opener)}' and separate the entries with ','");
            else
                _errors.Add(_lastMark, "YAML syntax error: the parser could not continue here; check the indentation, quoting and brackets");
            return null;
        }
    }

    private ConfigNode ReadNode(int depth)
    {
        if (depth > MaxDepth)
            throw new YamlException(_parser.Current!.Start, _parser.Current.End, $"Nesting deeper than {MaxDepth} levels.");

        ParsingEvent current = _parser.Current ?? throw new InvalidOperationException("parser has no current event");
        SourceMark at = SourceMark.From(current.Start);
        _lastMark = at;
        switch (current)
        {
            case AnchorAlias alias:
                _parser.MoveNext();
                if (_anchors.TryGetValue(alias.Value.Value, out var target))
                    return target;
                _errors.Add(at, $"alias '*{alias.Value.Value}' refers to no anchor defined before it; define '&{alias.Value.Value}' earlier or write the value out");
                return new ConfigScalar(at, "", ScalarStyle.Plain) { AlreadyReported = true };

            case Scalar scalar:
                _parser.MoveNext();
                return Remember(scalar, new ConfigScalar(at, scalar.Value, scalar.Style));

            case SequenceStart start:
            {
                _parser.MoveNext();
                bool flow = start.Style == SequenceStyle.Flow;
                if (flow) _openFlows.Push(('[', at));
                var items = new List<ConfigNode>();
                while (!_parser.TryConsume<SequenceEnd>(out _))
                    items.Add(ReadNode(depth + 1));
                if (flow) _openFlows.Pop();
                return Remember(start, new ConfigSequence(at, items));
            }

            case MappingStart start:
            {
                _parser.MoveNext();
                bool flow = start.Style == MappingStyle.Flow;
                if (flow) _openFlows.Push(('{', at));
                var entries = new List<ConfigMappingEntry>();
                var firstSeen = new Dictionary<string, SourceMark>(StringComparer.Ordinal);
                while (!_parser.TryConsume<MappingEnd>(out _))
                {
                    ConfigNode key = ReadNode(depth + 1);
                    ConfigNode value = ReadNode(depth + 1);
                    if (key is not ConfigScalar scalarKey || scalarKey.IsNull)
                    {
                        _errors.Add(key.Start, $"a key must be a plain name, not {key.KindForMessages}; write 'name: value'");
                        continue;
                    }
                    if (firstSeen.TryGetValue(scalarKey.Value, out var first))
                    {
                        _errors.Add(scalarKey.Start, $"duplicate key '{scalarKey.Value}' (first given at {first}); give each key once");
                        continue;
                    }
                    firstSeen.Add(scalarKey.Value, scalarKey.Start);
                    entries.Add(new ConfigMappingEntry(scalarKey, value));
                }
                if (flow) _openFlows.Pop();
                return Remember(start, new ConfigMapping(at, entries));
            }

            default:
                throw new YamlException(current.Start, current.End, $"Unexpected {current.GetType().Name}.");
        }
    }

    private ConfigNode Remember(NodeEvent e, ConfigNode node)
    {
        if (!e.Anchor.IsEmpty)
            _anchors[e.Anchor.Value] = node;
        return node;
    }

    private static char Closer(char opener) => opener == '[' ? ']' : '}';

    /// <summary>YamlDotNet's message ("While parsing X, did not find Y.") plus a hint on the usual cause.</summary>
    private string SyntaxMessage(string yamlMessage)
    {
        string what = string.Join(' ', yamlMessage.TrimEnd('.').Split(' ', StringSplitOptions.RemoveEmptyEntries));
        if (what.Length > 0)
            what = char.ToLowerInvariant(what[0]) + what[1..];
        // The parser reads ahead, so the innermost open bracket may already be complete; the
        // message says which kind of collection it was parsing.
        char? opener = what.Contains("flow mapping") ? '{' : what.Contains("flow sequence") ? '[' : null;
        var open = _openFlows.FirstOrDefault(f => f.Opener == opener);
        string hint = what switch
        {
            _ when opener is not null && open.Opener == opener =>
                $"the '{open.Opener}' opened at {open.At} needs a matching '{Closer(open.Opener)}', with ',' between entries",
            _ when what.Contains("cannot start any token") =>
                "quote a value that starts with a reserved character such as @, ` or %",
            _ when what.Contains("invalid mapping") =>
                "a value that contains ': ' must be quoted, and a key needs ': ' after it",
            _ when what.Contains("quoted scalar") && what.Contains("end of stream") =>
                "close the quote that starts here",
            _ when what.Contains("escape") =>
                "inside double quotes write \\\\ for a backslash, or use single quotes",
            _ when what.Contains("'-' indicator") =>
                "all items of a list start with '- ' in the same column, and a list cannot be followed by a key at its own indentation",
            _ when what.Contains("expected key") || what.Contains("block mapping") =>
                "keys of one mapping must start in the same column; indent nested keys further than their parent",
            _ => "check the indentation, quoting and brackets here",
        };
        return $"YAML syntax error: {what}; {hint}";
    }
}
