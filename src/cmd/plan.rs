//! `relsync plan`: what `apply` would change, read from the forge, or assumed with
//! `--offline`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use crate::cli::PlanArgs;
use crate::error::ExitStatus;
use crate::settings::Settings;

/// Prints the plan; with `--detailed-exitcode`, exits 4 when changes are pending.
///
/// # Errors
/// Bad input (exit 2), a forge failure, or writing to stdout failed.
pub(crate) fn run(
    args: &PlanArgs,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let pending = if settings.offline {
        let d = super::offline::build(settings)?;
        let uploaded = BTreeMap::new();
        let forge = super::offline::forge(settings);
        let cx = crate::plan::Context {
            caps: super::offline::capabilities(settings.forge),
            file_url: Box::new(|n| {
                forge.as_ref().map_or_else(String::new, |f| {
                    crate::forge::Forge::file_url(f, &d.tag, &d.package, n)
                })
            }),
            uploaded: &uploaded,
            ignored: &BTreeMap::new(),
            refused: &BTreeSet::new(),
        };
        let plan = crate::plan::diff(&d, None, &cx);
        crate::output::plan::write(settings, &d, &plan, true, None, stdout)?;
        plan.has_changes()
    } else {
        super::online::run(settings, false, stdout)?
    };
    Ok(if args.detailed_exitcode && pending {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}
