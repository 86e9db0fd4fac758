//! A reader of `text/event-stream` (Server-Sent Events), fed the body's bytes as they arrive.
//!
//! It follows the WHATWG event-stream rules the run stream needs: lines end in LF, CRLF or
//! CR; a line starting with `:` is a comment (the server's keep-alive); `event`, `data` and
//! `id` fields build a message, a blank line dispatches it; a message without data is not
//! dispatched; `id` is remembered across messages (and connections) as the last event id.
//! Unknown fields, `retry` among them, are ignored.

/// The longest line or message accepted: far above any run object, low enough that a broken
/// server cannot make the client buffer without end.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// One dispatched message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The `event` field, `message` when absent.
    pub event: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
}

/// Why a stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SseError {
    /// A line or message over [`MAX_MESSAGE_BYTES`].
    #[error("an event-stream message is longer than {MAX_MESSAGE_BYTES} bytes")]
    TooLong,
    /// A line that is not UTF-8.
    #[error("an event-stream line is not UTF-8")]
    NotUtf8,
}

/// The reader's state between chunks.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    /// Bytes of the line not yet terminated.
    line: Vec<u8>,
    /// The last byte was a CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    /// The last `id` field seen, kept for `Last-Event-ID`.
    last_event_id: Option<String>,
}

impl Reader {
    /// The last event id received, to send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// Forgets a half-received line and message (the connection dropped), keeping the last
    /// event id.
    pub fn reset_connection(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.event.clear();
        self.data.clear();
        self.has_data = false;
    }

    /// Reads `chunk`, appending every message it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Message>) -> Result<(), SseError> {
        for &byte in chunk {
            let after_cr = std::mem::take(&mut self.after_cr);
            match byte {
                b'\n' if after_cr => {}
                b'\n' => self.end_line(out)?,
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(out)?;
                }
                _ => {
                    if self.line.len() >= MAX_MESSAGE_BYTES {
                        return Err(SseError::TooLong);
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(())
    }

    fn end_line(&mut self, out: &mut Vec<Message>) -> Result<(), SseError> {
        let line = std::mem::take(&mut self.line);
        let line = String::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() >= MAX_MESSAGE_BYTES {
                    return Err(SseError::TooLong);
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_event_id = Some(value.to_owned()),
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<Message>) {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        if std::mem::take(&mut self.has_data) {
            out.push(Message {
                event: if event.is_empty() {
                    "message".to_owned()
                } else {
                    event
                },
                data,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&[u8]]) -> (Vec<Message>, Option<String>) {
        let mut reader = Reader::default();
        let mut out = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, &mut out).expect("readable");
        }
        (out, reader.last_event_id().map(str::to_owned))
    }

    fn message(event: &str, data: &str) -> Message {
        Message {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn messages_split_anywhere_across_chunks_read_the_same() {
        let text =
            b"event: run\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: event\nid: 7\ndata: x\n\n";
        let whole = read(&[text]);
        for cut in 1..text.len() {
            assert_eq!(read(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
        assert_eq!(
            whole,
            (
                vec![message("run", "{\"a\":1}"), message("event", "x")],
                Some("7".into())
            )
        );
    }

    #[test]
    fn every_line_ending_and_multi_line_data_are_understood() {
        let (out, _) = read(&[b"data: a\r\ndata:b\rdata:  c\n\r\n"]);
        assert_eq!(out, vec![message("message", "a\nb\n c")]);
    }

    #[test]
    fn comments_and_messages_without_data_dispatch_nothing_but_ids_stick() {
        let (out, id) = read(&[b": keep-alive\n\nid: 3\nevent: run\n\nevent: end\ndata: {}\n\n"]);
        assert_eq!(out, vec![message("end", "{}")]);
        assert_eq!(id.as_deref(), Some("3"));
    }

    #[test]
    fn a_dropped_connection_forgets_the_half_message_but_not_the_last_id() {
        let mut reader = Reader::default();
        let mut out = Vec::new();
        reader
            .feed(
                b"id: 5\nevent: event\ndata: 1\n\nevent: event\ndata: half",
                &mut out,
            )
            .expect("readable");
        reader.reset_connection();
        reader.feed(b"data: fresh\n\n", &mut out).expect("readable");
        assert_eq!(
            out,
            vec![message("event", "1"), message("message", "fresh")]
        );
        assert_eq!(reader.last_event_id(), Some("5"));
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut reader = Reader::default();
        let mut out = Vec::new();
        let chunk = vec![b'a'; 1024 * 1024];
        let mut result = Ok(());
        for _ in 0..5 {
            result = reader.feed(&chunk, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::TooLong));
    }
}
