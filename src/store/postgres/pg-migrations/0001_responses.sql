CREATE TABLE "response_items" (
	"client" text DEFAULT '' NOT NULL,
	"id" text NOT NULL,
	"response_id" text NOT NULL,
	"ts" bigint NOT NULL,
	"item" text NOT NULL,
	CONSTRAINT "response_items_client_id_pk" PRIMARY KEY("client","id")
);
--> statement-breakpoint
CREATE TABLE "responses" (
	"id" text NOT NULL,
	"client" text DEFAULT '' NOT NULL,
	"ts" bigint NOT NULL,
	"previous_id" text,
	"response" text NOT NULL,
	"input" text NOT NULL,
	CONSTRAINT "responses_client_id_pk" PRIMARY KEY("client","id")
);
--> statement-breakpoint
CREATE INDEX "response_items_response" ON "response_items" USING btree ("client","response_id");--> statement-breakpoint
CREATE INDEX "response_items_ts" ON "response_items" USING btree ("ts");--> statement-breakpoint
CREATE INDEX "responses_ts" ON "responses" USING btree ("ts");