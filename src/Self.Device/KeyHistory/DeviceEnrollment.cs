using System.Text;

namespace Self.Device;

/// <summary>
/// What a new device of an existing identity needs to start: returned by <see cref="SelfDevice.AddDeviceAsync"/> on a
/// device the identity already has, and given to <see cref="SelfDevice.EnrollAsync"/> on the new one. It holds the new
/// device's secret key: hand it over privately (e.g. as a QR code between the two screens) and do not keep it.
/// </summary>
/// <param name="SelfId">The identity.</param>
/// <param name="DeviceId">The new device's id.</param>
/// <param name="DeviceSecret">The new device's key, <c>kid:seed</c>. Secret.</param>
public sealed record DeviceEnrollment(string SelfId, string DeviceId, string DeviceSecret)
{
    // The secret never appears in logs or debugger views through ToString.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("SelfId = ").Append(SelfId).Append(", DeviceId = ").Append(DeviceId);
        return true;
    }
}
