CREATE TABLE "requests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"spool" text NOT NULL,
	"local_id" bigint NOT NULL,
	"ts" bigint NOT NULL,
	"request_id" text NOT NULL,
	"protocol" text NOT NULL,
	"endpoint" text NOT NULL,
	"client" text,
	"requested_model" text,
	"provider" text,
	"model" text,
	"key_name" text,
	"status" integer NOT NULL,
	"stream" boolean DEFAULT false NOT NULL,
	"latency_ms" double precision NOT NULL,
	"ttft_ms" double precision,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cached_tokens" integer DEFAULT 0 NOT NULL,
	"cache_write_tokens" integer DEFAULT 0 NOT NULL,
	"usage_estimated" boolean DEFAULT false NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"unpriced" boolean DEFAULT false NOT NULL,
	"error" text,
	"attempts" text DEFAULT '[]' NOT NULL,
	"adjusted" text,
	"node" text,
	"cache_hit" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spend_daily" (
	"day" text NOT NULL,
	"client" text DEFAULT '' NOT NULL,
	"provider" text DEFAULT '' NOT NULL,
	"model" text DEFAULT '' NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "spend_daily_day_client_provider_model_pk" PRIMARY KEY("day","client","provider","model")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "requests_spool_local" ON "requests" USING btree ("spool","local_id");--> statement-breakpoint
CREATE INDEX "requests_ts" ON "requests" USING btree ("ts");--> statement-breakpoint
CREATE INDEX "requests_client_ts" ON "requests" USING btree ("client","ts");--> statement-breakpoint
CREATE INDEX "requests_request_id" ON "requests" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "spend_daily_client_day" ON "spend_daily" USING btree ("client","day");