//! The periodic checkpoint signer: every `--checkpoint-interval`, when the
//! log has grown, it signs (and keeps) a checkpoint at the durable head.
//! That is what `/checkpoint` serves to tiled-log clients and witnesses.

use crate::error::HttpError;
use crate::state::AppState;
use std::sync::Arc;
use tokio::time::MissedTickBehavior;

/// Signs a first checkpoint (or takes the newest kept, when it covers the
/// head already), before the server answers anything.
pub async fn start(state: &Arc<AppState>) -> Result<(), HttpError> {
    let signed = state
        .blocking_write(|store| {
            let head = store.head().seq;
            let kept = store.checkpoints()?.pop();
            match kept {
                Some(kept) if kept.checkpoint.size == head || !store.can_sign() => Ok(Some(kept)),
                _ if store.can_sign() => Ok(Some(store.sign_checkpoint(head)?)),
                _ => Ok(None),
            }
        })
        .await?;
    if let Some(signed) = signed {
        state.set_checkpoint(signed);
    }
    Ok(())
}

/// Runs until the server stops.
pub async fn run(state: Arc<AppState>) {
    let mut shutdown = state.shutdown();
    let mut ticker = tokio::time::interval(state.config.checkpoint_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(error) = sign_if_grown(&state).await {
            tracing::warn!(error = %error.body.error, "signing a checkpoint failed");
        }
    }
}

async fn sign_if_grown(state: &Arc<AppState>) -> Result<(), HttpError> {
    if !state.store.can_sign() {
        return Ok(());
    }
    let head = state.store.head().seq;
    let signed_size = state.latest_checkpoint().map(|c| c.checkpoint.size);
    if signed_size.is_some_and(|size| size >= head) {
        return Ok(());
    }
    let signed = state
        .blocking_write(move |store| Ok(store.sign_checkpoint(head)?))
        .await?;
    tracing::debug!(size = head, "checkpoint signed");
    state.set_checkpoint(signed);
    Ok(())
}
