//! Opening a run's sealed inputs for one step. The decrypted [`RunInputs`] live only as long
//! as the step that asked for them.

use antpath_db::cleanup::load_sealed;
use antpath_db::lifecycle::RunRow;
use antpath_template::submission::RunInputs;
use antpath_vault::KeyRing;
use sqlx::PgPool;

use crate::error::{StepError, StepResult};

/// Decrypts the inputs of `run`. A run whose bundle is already destroyed, or that does not
/// open, is an antpath bug: the bundle lives until cleanup.
pub async fn open(pool: &PgPool, keys: &KeyRing, run: &RunRow) -> StepResult<RunInputs> {
    let secret_id = run
        .execution_secret_id
        .ok_or_else(|| StepError::Bug("the run's sealed inputs are already destroyed".into()))?;
    let sealed = load_sealed(pool, secret_id)
        .await?
        .ok_or_else(|| StepError::Bug("the run's sealed inputs are missing".into()))?;
    let sealed = sealed.into_sealed();
    let plaintext = keys
        .open(run.id, &sealed)
        .map_err(|err| StepError::Bug(format!("the run's sealed inputs do not open: {err}")))?;
    RunInputs::from_plaintext_json(plaintext.expose_secret())
        .map_err(|err| StepError::Bug(err.to_string()))
}
