using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HopCapture.Tests.Shared;

/// <summary>One POST the receiver accepted, and when.</summary>
public sealed record ReceivedAlert(string IdempotencyKey, JsonElement Body, DateTimeOffset ReceivedAt)
{
    public string Label(string name) => Body[0].GetProperty("labels").GetProperty(name).GetString() ?? "";

    public string Annotation(string name) => Body[0].GetProperty("annotations").GetProperty(name).GetString() ?? "";

    /// <summary>Alertmanager's reading: resolved when endsAt has passed (a firing alert carries a future one).</summary>
    public bool Resolved => EndsAt is { } endsAt && endsAt <= ReceivedAt;

    public DateTimeOffset? EndsAt => Body[0].TryGetProperty("endsAt", out var endsAt) ? endsAt.GetDateTimeOffset() : null;
}

/// <summary>
/// A real HTTP server (Kestrel on loopback) that accepts Alertmanager's POST /api/v2/alerts and
/// keeps what it got. Can be started on a port chosen earlier, to play a receiver that was down.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/api/v2/alerts";

    /// <summary>What the receiver accepted (answered 2xx).</summary>
    public ConcurrentQueue<ReceivedAlert> Received { get; } = new();

    /// <summary>The status every POST gets; a 4xx plays a receiver that refuses the request (nothing is kept).</summary>
    public int Status { get; set; } = StatusCodes.Status200OK;

    /// <summary>Every POST, accepted or not, by idempotency key.</summary>
    public ConcurrentQueue<string> Attempts { get; } = new();

    public static async Task<WebhookReceiver> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/api/v2/alerts", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var key = context.Request.Headers["Idempotency-Key"].ToString();
            receiver!.Attempts.Enqueue(key);
            var status = receiver.Status;
            if (status is >= 200 and < 300)
            {
                receiver.Received.Enqueue(new ReceivedAlert(key, body.RootElement.Clone(), DateTimeOffset.UtcNow));
            }

            return Results.StatusCode(status);
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var address = new Uri(app.Urls.First());
        receiver = new WebhookReceiver(app, address.Port);
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await _app.DisposeAsync();
    }
}
