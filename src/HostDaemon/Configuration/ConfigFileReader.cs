using Ivshmem.Daemon.Configuration.Yaml;

namespace Ivshmem.Daemon.Configuration;

/// <summary>Reads the configuration file's text, turning every way that can fail into one error at 1:1
/// (the file has no position to point at) that says why and what to do.</summary>
internal static class ConfigFileReader
{
    // A configuration is a few KiB; anything this large is the wrong file (a disk image, /dev/zero).
    private const long MaxBytes = 1 << 20;

    public static string? ReadText(string path, ConfigErrorSink errors)
    {
        string? problem;
        try
        {
            if (Directory.Exists(path))
            {
                problem = "it is a directory; give the path of the YAML file inside it, e.g. ivshmemd.yaml";
            }
            else
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                if (stream.CanSeek && stream.Length > MaxBytes)
                {
                    problem = $"it is {stream.Length} bytes, larger than any configuration ({MaxBytes} bytes at most); check the path";
                }
                else
                {
                    using var reader = new StreamReader(stream);
                    char[] buffer = new char[MaxBytes + 1];
                    int length = reader.ReadBlock(buffer, 0, buffer.Length);
                    if (length <= MaxBytes)
                        return new string(buffer, 0, length);
                    problem = $"it is larger than any configuration ({MaxBytes} bytes at most); check the path";
                }
            }
        }
        catch (FileNotFoundException)
        {
            problem = "no such file; check the path";
        }
        catch (DirectoryNotFoundException)
        {
            problem = "no such file (a directory on the path does not exist); check the path";
        }
        catch (UnauthorizedAccessException)
        {
            problem = "permission denied; make the file readable by the user running ivshmemd (e.g. chmod 0644, or run as that user)";
        }
        catch (IOException ex)
        {
            problem = $"{ex.Message.TrimEnd('.')}; check that the path is a readable regular file";
        }
        errors.Add(SourceMark.Start, $"cannot read the configuration: {problem}");
        return null;
    }
}
