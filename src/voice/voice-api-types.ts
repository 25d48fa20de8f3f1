/** What the HTTP layer may ask of Programmable Voice (implemented by VoiceEngine). */
import type { FormParams } from './api-params.js';
import type { ApiResult } from './provider-errors.js';
import type { VoiceAccount } from './voice-accounts.js';
import type { QueueView, QueuedCallView } from './voice-engine.js';

export type { QueueView, QueuedCallView };

export interface VoiceApi {
  authenticate(accountSid: string, authorization: string | undefined): ApiResult<VoiceAccount>;
  create(account: VoiceAccount, form: FormParams): ApiResult<Record<string, unknown>>;
  list(account: VoiceAccount, query: FormParams): ApiResult<Record<string, unknown>>;
  fetch(account: VoiceAccount, sid: string): ApiResult<Record<string, unknown>>;
  update(account: VoiceAccount, sid: string, form: FormParams): ApiResult<Record<string, unknown>>;
  remove(account: VoiceAccount, sid: string): ApiResult<null>;
  queueViews(): QueueView[];
  queuedCalls(account: string): QueuedCallView[] | undefined;
}
