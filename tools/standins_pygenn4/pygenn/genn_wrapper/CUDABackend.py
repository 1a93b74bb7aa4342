DeviceSelect_MANUAL = "manual"
