//! The clock. `DSR_NOW` (RFC 3339) replaces the current time everywhere so tests can move time;
//! `Clock::injected` tells the audit trail that an entry was made under a moved clock.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::Error;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    now: DateTime<Utc>,
    injected: bool,
}

impl Clock {
    /// The clock from `DSR_NOW`, or the system time when it is unset.
    pub fn from_env() -> Result<Clock, Error> {
        match std::env::var("DSR_NOW") {
            Ok(v) if !v.trim().is_empty() => Clock::parse(v.trim()),
            _ => Ok(Clock { now: Utc::now(), injected: false }),
        }
    }

    pub fn parse(text: &str) -> Result<Clock, Error> {
        let now = DateTime::parse_from_rfc3339(text)
            .map_err(|e| Error::invalid("DSR_NOW", format!("{e}; expected RFC 3339 such as 2026-01-31T09:00:00Z")))?
            .with_timezone(&Utc);
        Ok(Clock { now, injected: true })
    }

    pub fn fixed(now: DateTime<Utc>) -> Clock {
        Clock { now, injected: true }
    }

    /// The system clock as read at `now` (a command that started then).
    #[cfg(test)]
    pub(crate) fn system_read_at(now: DateTime<Utc>) -> Clock {
        Clock { now, injected: false }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn injected(&self) -> bool {
        self.injected
    }

    /// The store's timestamp form: 'YYYY-MM-DDTHH:MM:SSZ'.
    pub fn timestamp(&self) -> String {
        stamp(self.now)
    }
}

/// Format a time the way the store keeps it.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
