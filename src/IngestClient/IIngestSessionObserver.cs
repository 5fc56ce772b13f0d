using HopCapture.Protos;

namespace HopCapture.IngestClient;

/// <summary>What a session reports while it runs; called on the session's threads, so handlers must not block.</summary>
public interface IIngestSessionObserver
{
    /// <summary>A stream is established; batches up to <c>welcome.ResumeAfterSeq</c> are already acked.</summary>
    void Connected(Welcome welcome)
    {
    }

    /// <summary>The correlator acked every batch up to <c>ack.Seq</c>.</summary>
    void Acked(Ack ack)
    {
    }

    /// <summary>A control command from the correlator (commands a client does not know are its to ignore).</summary>
    void ControlReceived(Control control)
    {
    }

    /// <summary>The correlator could not be reached or the stream failed early; the next attempt starts after <paramref name="delay"/>.</summary>
    void Retrying(string reason, TimeSpan delay)
    {
    }

    /// <summary>An established stream ended after a while; the session reconnects at once.</summary>
    void Reconnecting(string reason)
    {
    }
}
