//! Upload progress on stderr: the `forge::spec::Progress` that `apply` gives the forge.

use std::io::IsTerminal;

/// Upload progress bars on stderr, shown when it is a terminal outside CI.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressBars;

impl crate::forge::spec::Progress for ProgressBars {
    fn start(&self, name: &str, size: u64) -> Box<dyn FnMut(u64) + Send> {
        let shown = std::io::stderr().is_terminal()
            && crate::env_vars::Env::from_process()
                .get(crate::env_vars::CI)
                .is_none();
        if !shown {
            return Box::new(|_| {});
        }
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(name.to_owned());
        Box::new(move |n| {
            bar.inc(n);
            if bar.position() >= size {
                bar.finish_and_clear();
            }
        })
    }
}
