//! Loading a leased run with its sealed inputs, in one statement, at the start of a lease
//! hold; opening the inputs. The decrypted [`RunInputs`] live only as long as the hold.

use antpath_db::lifecycle::{Fence, RunRow};
use antpath_db::runs::SealedSecret;
use antpath_template::submission::RunInputs;
use antpath_vault::KeyRing;
use sqlx::PgPool;

use crate::error::{StepError, StepResult};

/// The run (fenced: `LeaseLost` when the lease is gone) and its sealed bundle, if it still has
/// one, read in one statement.
pub async fn load(pool: &PgPool, fence: Fence) -> StepResult<(RunRow, Option<SealedSecret>)> {
    Ok(antpath_db::leased::load(pool, fence).await?)
}

/// Decrypts the inputs of `run` from its sealed bundle. A run whose bundle is already
/// destroyed, or that does not open, is an antpath bug: the bundle lives until cleanup.
pub fn open(keys: &KeyRing, run: &RunRow, sealed: Option<SealedSecret>) -> StepResult<RunInputs> {
    if run.execution_secret_id.is_none() {
        return Err(StepError::Bug(
            "the run's sealed inputs are already destroyed".into(),
        ));
    }
    let sealed = sealed
        .ok_or_else(|| StepError::Bug("the run's sealed inputs are missing".into()))?
        .into_sealed();
    let plaintext = keys
        .open(run.id, &sealed)
        .map_err(|err| StepError::Bug(format!("the run's sealed inputs do not open: {err}")))?;
    RunInputs::from_plaintext_json(plaintext.expose_secret())
        .map_err(|err| StepError::Bug(err.to_string()))
}
