namespace HopCapture.Tests; public class Placeholder { [Test] public void Builds() => Assert.Pass(); }
