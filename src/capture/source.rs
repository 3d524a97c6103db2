//! The one way to capture live: open the interface here when this process may, else through the
//! capture helper that holds the capability (see [`super::helper`]). The choice sits above both.

use std::path::Path;

use crate::wire::LinkType;

use super::helper::{helper_path, HelperCapture};
use super::live::{DeviceCapture, LiveError, LiveOptions, Read, IDLE_WAIT};

/// An open live capture, read here or by the helper.
#[derive(Debug)]
pub struct LiveCapture {
    source: Source,
}

/// Who reads the interface: this process, or the capture helper that holds the capability.
#[derive(Debug)]
enum Source {
    Here(DeviceCapture),
    Helper(HelperCapture),
}

impl LiveCapture {
    /// Opens the device, applies the filter, and creates the save file. Without the permission to
    /// capture here, the capture helper does it when it is installed (`TCPLADDER_NO_HELPER` set
    /// keeps the first error instead).
    pub fn open(options: &LiveOptions) -> Result<Self, LiveError> {
        match Self::open_here(options) {
            Err(err @ LiveError::Permission { .. }) if std::env::var_os("TCPLADDER_NO_HELPER").is_none() => {
                match helper_path() {
                    Some(helper) => Self::open_helper(&helper, options),
                    None => Err(err),
                }
            }
            opened => opened,
        }
    }

    /// Lets the helper capture; it writes the save file itself.
    fn open_helper(helper: &Path, options: &LiveOptions) -> Result<Self, LiveError> {
        let capture = HelperCapture::spawn(helper, options)?;
        Ok(Self { source: Source::Helper(capture) })
    }

    /// Opens the device in this process (which needs the capability itself).
    pub fn open_here(options: &LiveOptions) -> Result<Self, LiveError> {
        DeviceCapture::open(options).map(|capture| Self { source: Source::Here(capture) })
    }

    /// True when the capture helper reads the interface for this process.
    pub fn through_helper(&self) -> bool {
        matches!(self.source, Source::Helper(_))
    }

    /// The link type of the packets.
    pub fn link(&self) -> LinkType {
        match &self.source {
            Source::Here(capture) => capture.link(),
            Source::Helper(helper) => helper.link(),
        }
    }

    /// The next packet, after saving it if a save file is set, or [`Read::Idle`] when none came.
    pub fn next(&mut self, consume: impl FnOnce(i64, &[u8])) -> Result<Read, LiveError> {
        match &mut self.source {
            Source::Here(capture) => capture.next(consume),
            Source::Helper(helper) => helper.next(IDLE_WAIT, consume),
        }
    }

    /// Packets the kernel handed over and dropped so far, when libpcap knows.
    pub fn stats(&mut self) -> Option<(u32, u32)> {
        match &mut self.source {
            Source::Here(capture) => capture.stats(),
            Source::Helper(helper) => helper.stats(),
        }
    }

    /// Flushes the save file (the helper flushes its own).
    pub fn flush(&mut self) -> Result<(), LiveError> {
        match &mut self.source {
            Source::Here(capture) => capture.flush(),
            Source::Helper(_) => Ok(()),
        }
    }
}
