//! How entries get into the zip: each one hashed and counted on its way in, with ZIP64 fields
//! only when it can reach 4 GiB.

use std::io::{Seek, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

use super::ManifestFile;
use crate::keys::hex;

/// Entries that end up this small are stored, not deflated: setting up a deflate stream (some
/// hundreds of KiB of compressor state, allocated and zeroed for every entry) and compressing
/// cost more than the bytes saved are worth on a file of a few KiB, and a typical person's
/// archive holds only such entries (its largest, `register.json` and `index.html`, are some
/// tens of KiB). Storing them took a quarter of a batch export's instructions off (callgrind,
/// 200 people of the generated store: 3.66 G against 2.76 G), the archives 45 -> 120 KB. A
/// person with much data still gets the large entries deflated.
const STORED_UP_TO: usize = 64 * 1024;

/// One entry on its way into the zip: hashed and counted, and held back while it is small, so
/// that the entry is started only when it is known whether it is worth deflating.
struct Entry<'e, 'p, W: Write + Seek> {
    writer: &'e mut Writer<'p, W>,
    path: &'e str,
    most: u64,
    small: Vec<u8>,
    started: bool,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write + Seek> Entry<'_, '_, W> {
    fn start(&mut self, method: CompressionMethod) -> std::io::Result<()> {
        let w = &mut *self.writer;
        let options = w.options.large_file(self.most >= ZIP64_FROM);
        let options = match method {
            CompressionMethod::Stored => options.compression_method(method).compression_level(None),
            _ => options,
        };
        let options = match w.passphrase {
            Some(p) => options.with_aes_encryption(AesMode::Aes256, p),
            None => options,
        };
        w.zip.start_file(self.path, options).map_err(std::io::Error::other)?;
        self.started = true;
        w.zip.write_all(&std::mem::take(&mut self.small))
    }

    /// Start the entry if it is still held back (stored: it stayed small), and end it.
    fn finish(mut self) -> std::io::Result<(String, u64)> {
        if !self.started {
            self.start(CompressionMethod::Stored)?;
        }
        Ok((hex(&self.hash.clone().finalize()), self.bytes))
    }
}

impl<W: Write + Seek> Write for Entry<'_, '_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.started {
            if self.small.len() + buf.len() <= STORED_UP_TO {
                self.small.extend_from_slice(buf);
                self.hash.update(buf);
                self.bytes += buf.len() as u64;
                return Ok(buf.len());
            }
            self.start(CompressionMethod::Deflated)?;
        }
        let n = self.writer.zip.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(super) struct Writer<'p, W: Write + Seek> {
    pub zip: ZipWriter<W>,
    /// The options of a deflated entry; a small entry is stored (see [`STORED_UP_TO`]).
    pub options: SimpleFileOptions,
    pub passphrase: Option<&'p str>,
    pub files: Vec<ManifestFile>,
}

impl<W: Write + Seek> Writer<'_, W> {
    /// Write one entry through `fill`, which returns the number of records it wrote. `most` is
    /// the most bytes the entry can hold (see [`ZIP64_FROM`]).
    pub fn entry(
        &mut self,
        path: &str,
        most: u64,
        fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<u64>,
    ) -> anyhow::Result<()> {
        let mut entry =
            Entry { writer: self, path, most, small: Vec::new(), started: false, hash: Sha256::new(), bytes: 0 };
        let rows = {
            let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, &mut entry);
            let rows = fill(&mut buffered)?;
            buffered.flush()?;
            rows
        };
        let (sha256, bytes) = entry.finish()?;
        self.files.push(ManifestFile { path: path.to_owned(), sha256, bytes, rows });
        Ok(())
    }
}

/// Entries that can reach this size get ZIP64 fields; all others none. The zip crate's streaming
/// writer puts a ZIP64 field in the local header of a `large_file` entry and writes another one in
/// its central-directory record, which 7-Zip reports as a "Headers Error" and `zipdetails` cannot
/// read past; so ZIP64 is asked for only where it is needed. The margin below 4 GiB covers what
/// deflate and AES add to an entry's size.
pub(super) const ZIP64_FROM: u64 = (4 << 30) - (64 << 20);

/// Counts the bytes written to it (the size of an entry before it is written).
#[derive(Default)]
pub(super) struct Count(pub u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The most bytes an entry can hold: `bound` while that is below [`ZIP64_FROM`], else the entry
/// is written into a counter first (only for a person with hundreds of megabytes of data).
pub(super) fn most_bytes(
    bound: u64,
    measure: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    if bound < ZIP64_FROM {
        return Ok(bound);
    }
    let mut size = Count::default();
    measure(&mut size)?;
    Ok(size.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The extra-field tags of each central-directory record of a zip.
    fn central_extra_tags(zip: &[u8]) -> Vec<Vec<u16>> {
        let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]);
        let mut records = Vec::new();
        let mut i = 0;
        while i + 46 <= zip.len() {
            if zip[i..i + 4] != *b"PK\x01\x02" {
                i += 1;
                continue;
            }
            let (name, extra) = (u16_at(i + 28) as usize, u16_at(i + 30) as usize);
            let mut at = i + 46 + name;
            let mut tags = Vec::new();
            while at + 4 <= i + 46 + name + extra {
                tags.push(u16_at(at));
                at += 4 + u16_at(at + 2) as usize;
            }
            records.push(tags);
            i += 46;
        }
        records
    }

    fn archive(passphrase: Option<&str>, most: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let options = SimpleFileOptions::default();
        {
            let mut w = Writer { zip: ZipWriter::new_stream(&mut out), options, passphrase, files: Vec::new() };
            w.entry("a.txt", most, |o| Ok(o.write_all(b"hello").map(|_| 1)?)).unwrap();
            w.entry("b.txt", 5, |o| Ok(o.write_all(b"world").map(|_| 1)?)).unwrap();
            w.zip.finish().unwrap();
        }
        out
    }

    #[test]
    /// Plain and encrypted. (The large entry's record carries the crate's ZIP64 field twice: what
    /// 7-Zip warns about, and why ZIP64 is asked for only where it is needed.)
    fn zip64_fields_only_on_entries_that_can_reach_4_gib() {
        for passphrase in [None, Some("correct horse battery staple")] {
            let small = central_extra_tags(&archive(passphrase, 5));
            assert_eq!(small.len(), 2);
            assert!(small.iter().all(|tags| !tags.contains(&0x0001)), "no ZIP64 field: {small:?}");
            let large = central_extra_tags(&archive(passphrase, ZIP64_FROM));
            assert!(large[0].contains(&0x0001), "{large:?}");
            assert!(!large[1].contains(&0x0001), "{large:?}");
        }
    }

    #[test]
    fn a_small_entry_is_stored_and_a_larger_one_deflated_with_the_same_hash_either_way() {
        let big = "jan.devries@example.nl,2026-11-01T10:00:00Z\n".repeat(2000);
        for passphrase in [None, Some("correct horse battery staple")] {
            let mut out = Vec::new();
            let files = {
                let mut w = Writer {
                    zip: ZipWriter::new_stream(&mut out),
                    options: SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
                    passphrase,
                    files: Vec::new(),
                };
                w.entry("small.csv", 1 << 20, |o| Ok(o.write_all(b"id,name\n1,Jan\n").map(|_| 1)?)).unwrap();
                w.entry("edge.txt", 1 << 20, |o| Ok(o.write_all(&[b'x'; STORED_UP_TO]).map(|_| 0)?)).unwrap();
                w.entry("big.csv", 1 << 20, |o| Ok(o.write_all(big.as_bytes()).map(|_| 100)?)).unwrap();
                w.zip.finish().unwrap();
                w.files
            };
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
            let mut method = |name: &str| {
                let mut f = match passphrase {
                    Some(p) => archive.by_name_decrypt(name, p.as_bytes()).unwrap(),
                    None => archive.by_name(name).unwrap(),
                };
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut text).unwrap();
                (f.compression(), text)
            };
            let (small, text) = method("small.csv");
            assert_eq!((small, text.as_slice()), (CompressionMethod::Stored, &b"id,name\n1,Jan\n"[..]));
            assert_eq!(method("edge.txt").0, CompressionMethod::Stored, "{STORED_UP_TO} bytes is still small");
            let (large, text) = method("big.csv");
            assert_eq!((large, text), (CompressionMethod::Deflated, big.as_bytes().to_vec()));
            assert_eq!(files[2].sha256, hex(&Sha256::digest(big.as_bytes())));
            assert_eq!((files[0].bytes, files[0].rows, files[2].bytes), (14, 1, big.len() as u64));
        }
    }

    #[test]
    fn an_entry_is_measured_only_when_its_bound_reaches_the_zip64_size() {
        let mut measured = false;
        let bound = most_bytes(1 << 20, |_| {
            measured = true;
            Ok(())
        });
        assert_eq!(bound.unwrap(), 1 << 20);
        assert!(!measured);
        let size = most_bytes(ZIP64_FROM, |out| Ok(out.write_all(&[0; 1000])?)).unwrap();
        assert_eq!(size, 1000);
    }
}
