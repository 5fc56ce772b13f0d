namespace HopCapture.Lab.Tests; public class Placeholder { [Test] public void Builds() => Assert.Pass(); }
