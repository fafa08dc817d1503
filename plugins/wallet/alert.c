/*
 * alert.c: the low-balance alert. The scripts decide, atomically with the
 * debit, that this debit took the balance below the threshold and that no
 * alert was sent since the balance was last at or above it; this file
 * words the message and queues it on the core notifier (Discord, e-mail,
 * webhooks), idempotent per ledger entry, so a retried queueing sends it
 * once.
 */
#include <apr_strings.h>

#include "cloudbase/log.h"
#include "cloudbase/notify.h"
#include "wallet.h"

void wallet_alert_low_balance(wallet_plugin *w, apr_pool_t *p, int64_t entry_id,
                              int64_t balance)
{
    int64_t threshold = -1, now_balance;
    cb_notify_message m = {.kind = CB_NOTIFY_INFO, .ping_ms = -1};
    apr_status_t rv;
    if (!w->notifier)
        return;
    if (wallet_read(w, p, &now_balance, &threshold) != WALLET_OK || threshold < 0)
        threshold = -1;
    m.source = apr_pstrcat(p, "wallet:", w->env, NULL);
    m.title = apr_psprintf(p, "Wallet balance low in workspace %s", w->env);
    m.detail = threshold >= 0
        ? apr_psprintf(p, "The balance is %" APR_INT64_T_FMT " %s, below the alert threshold "
                       "of %" APR_INT64_T_FMT " %s. Top the wallet up to keep metered routes "
                       "answering.", balance, w->currency, threshold, w->currency)
        : apr_psprintf(p, "The balance is %" APR_INT64_T_FMT " %s, below the alert "
                       "threshold. Top the wallet up to keep metered routes answering.",
                       balance, w->currency);
    m.idempotency_key = apr_psprintf(p, "wallet-low:%s:%" APR_INT64_T_FMT, w->env, entry_id);
    if ((rv = cb_notify(w->notifier, p, &m, NULL)) != APR_SUCCESS)
        cb_log(CB_LOG_WARNING, "wallet: the low-balance alert of %s (entry %" APR_INT64_T_FMT
               ") could not be queued", w->env, entry_id);
}
